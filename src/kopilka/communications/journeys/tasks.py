"""The journeys' periodic job (when: `kopilka.runtime.schedule`)."""

from django_tasks import task

from kopilka.core.scheduling import PERIODIC_QUEUE


@task(queue_name=PERIODIC_QUEUE)
def run_journeys(slot: str) -> dict:
    """Events, entries and due steps of every journey; returns how many of each."""
    from dataclasses import asdict

    from kopilka.communications.journeys.run import run_journeys as run

    return asdict(run())
