"""Periodic work of campaigns: start and finish them on schedule; the day's birthdays (when:
`kopilka.runtime.schedule`)."""

from datetime import datetime

from django_tasks import task

from kopilka.core.scheduling import PERIODIC_QUEUE


@task(queue_name=PERIODIC_QUEUE)
def advance_campaign_schedule(slot: str) -> dict:
    """Start scheduled campaigns whose start has come, finish those whose end has passed (as of the slot)."""
    from kopilka.campaigns.services import advance_schedule

    return advance_schedule(now=datetime.fromisoformat(slot))


@task(queue_name=PERIODIC_QUEUE)
def birthdays(slot: str) -> int:
    """Record the day's birthdays, which birthday campaigns reward; returns how many were new."""
    from kopilka.campaigns.events import birthdays as record_birthdays

    return record_birthdays(now=datetime.fromisoformat(slot))
