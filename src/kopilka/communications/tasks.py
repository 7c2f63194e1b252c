from django_tasks import task

from kopilka.core.scheduling import Every, register
from kopilka.core.tasks import PERIODIC_QUEUE


@task(queue_name=PERIODIC_QUEUE)
def deliver_messages(slot: str) -> int:
    """Send what the outbox holds; returns how many messages went out."""
    from kopilka.communications.services import deliver_queued

    return deliver_queued()


register("deliver_messages", deliver_messages, schedule=Every(seconds=60))
