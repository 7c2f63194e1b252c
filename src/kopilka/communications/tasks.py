"""Periodic work of communications: sending the outbox, webhooks, personal notices, the coming burns and pruning
the outbox's old events and deliveries (when: `kopilka.runtime.schedule`)."""

from django_tasks import task

from kopilka.core.scheduling import PERIODIC_QUEUE


@task(queue_name=PERIODIC_QUEUE)
def deliver_messages(slot: str) -> int:
    """Send what the outbox holds; returns how many messages went out."""
    from kopilka.communications.services import deliver_queued

    return deliver_queued()


@task(queue_name=PERIODIC_QUEUE)
def deliver_webhooks(slot: str) -> int:
    """Turn the ledger's new entries and the journeys' new steps into events, hand events to their endpoints and
    send what is due; returns how many deliveries arrived."""
    from kopilka.communications.webhook_delivery import deliver_webhooks as deliver

    return deliver()


@task(queue_name=PERIODIC_QUEUE)
def personal_notices(slot: str) -> int:
    """Make the personal notices of what happened since the last run (the outbox's events) and of the campaigns
    due one; returns how many events and campaign members were looked at."""
    from kopilka.communications.notice_campaigns import campaign_notices
    from kopilka.communications.notice_events import events_to_notices

    return events_to_notices() + campaign_notices()


@task(queue_name=PERIODIC_QUEUE)
def points_expiring(slot: str) -> int:
    """Record the coming burns as `points.expiring` events (webhooks and burn notices read them) for the days up
    to the slot's day + N; returns how many events were new."""
    from kopilka.communications.expiring_points import record_expiring
    from kopilka.core import clock, sql

    return record_expiring(clock.local_date(sql.moment(slot)))


@task(queue_name=PERIODIC_QUEUE)
def prune_outbox(slot: str) -> dict:
    """Delete the webhook deliveries and outbox events done with before the slot's keeping time
    (KOPILKA["OUTBOX_DAYS"]); returns how many of each went."""
    from kopilka.communications.retention import prune_outbox_records
    from kopilka.core import sql

    return prune_outbox_records(sql.moment(slot))
