"""Periodic work of mailings (when: `kopilka.runtime.schedule`)."""

from datetime import datetime

from django_tasks import task

from kopilka.core.scheduling import PERIODIC_QUEUE


@task(queue_name=PERIODIC_QUEUE)
def advance_mailings(slot: str) -> dict:
    """Start the mailings due by the slot, write their messages, mark sent those done."""
    from kopilka.communications.mailings.building import advance

    return advance(now=datetime.fromisoformat(slot))
