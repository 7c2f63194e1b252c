"""How long the platform keeps records that only serve replays: the first answers of API writes are deleted
KOPILKA["IDEMPOTENCY_DAYS"] after they were made (a replay after that is a new request)."""

from datetime import datetime, timedelta

from django.conf import settings
from django_tasks import task

from kopilka.core.models import IdempotencyRecord
from kopilka.core.scheduling import PERIODIC_QUEUE

BATCH = 10_000


def prune_idempotency_records(now: datetime) -> int:
    """Delete the completed records older than the keeping time, in batches; returns how many went. A record
    still in progress is left to its write."""
    cutoff = now - timedelta(days=settings.KOPILKA["IDEMPOTENCY_DAYS"])
    deleted = 0
    while True:
        ids = list(IdempotencyRecord.objects.filter(created_at__lt=cutoff, response_status__isnull=False)
                   .values_list("id", flat=True)[:BATCH])
        if not ids:
            return deleted
        deleted += IdempotencyRecord.objects.filter(id__in=ids).delete()[0]


@task(queue_name=PERIODIC_QUEUE)
def prune_idempotency(slot: str) -> int:
    """The periodic job: prune the records made before the slot's keeping time."""
    return prune_idempotency_records(datetime.fromisoformat(slot))
