"""Periodic work of communications: sending the outbox (when: `kopilka.runtime.schedule`)."""

from django_tasks import task

from kopilka.core.scheduling import PERIODIC_QUEUE


@task(queue_name=PERIODIC_QUEUE)
def deliver_messages(slot: str) -> int:
    """Send what the outbox holds; returns how many messages went out."""
    from kopilka.communications.services import deliver_queued

    return deliver_queued()
