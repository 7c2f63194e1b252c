"""Periodic work of tiers: the review that moves members down (or up) to what they qualify for (when:
`kopilka.runtime.schedule`)."""

from datetime import datetime

from django_tasks import task

from kopilka.core.scheduling import PERIODIC_QUEUE


@task(queue_name=PERIODIC_QUEUE)
def review_tiers(slot: str) -> int:
    """On the first day of a review period, every member goes to the tier they qualify for (not below a floor)."""
    from kopilka.tiers.services import review_all

    return review_all(now=datetime.fromisoformat(slot))
