"""Periodic work of communications: sending the outbox (when: `kopilka.runtime.schedule`)."""

from django_tasks import task

from kopilka.core.scheduling import PERIODIC_QUEUE


@task(queue_name=PERIODIC_QUEUE)
def deliver_messages(slot: str) -> int:
    """Send what the outbox holds; returns how many messages went out."""
    from kopilka.communications.services import deliver_queued

    return deliver_queued()


@task(queue_name=PERIODIC_QUEUE)
def deliver_webhooks(slot: str) -> int:
    """Turn the ledger's new entries into events, hand events to their endpoints and send what is due; returns how
    many deliveries arrived."""
    from kopilka.communications.webhook_delivery import deliver_webhooks as deliver

    return deliver()
