"""The outbox: events recorded in the transaction of the change they tell of (the transactional outbox pattern),
read afterwards by whoever hands them on (webhooks, notices, journeys). An event of a rolled back change never
existed; one of a committed change is never lost — it is deleted only KOPILKA["OUTBOX_DAYS"] after every reader is
done with it (`communications.retention`)."""

import json
from collections.abc import Iterable
from datetime import datetime

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from kopilka.core import clock
from kopilka.core.models import OutboxEvent

_CHUNK = 500  # keys per statement: within SQLite's limit of parameters


def record(type: str, subject: str, payload: dict) -> OutboxEvent:
    """One event, inside the transaction of its change: outside one it refuses (the change could commit without
    its event, or the event without its change). `payload` is JSON; decimals and moments become text."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError(f"the event {type!r} is recorded outside a transaction")
    return OutboxEvent.objects.create(type=type, subject=subject, payload=as_json(payload), occurred_at=clock.now())


def record_once(events: Iterable[tuple[str, str, str, dict, datetime]]) -> int:
    """Events built afterwards from other records, each (key, type, subject, payload, occurred_at): one already
    recorded under its key is left as it is. Returns how many were new."""
    rows = [OutboxEvent(key=key, type=type, subject=subject, payload=as_json(payload), occurred_at=at)
            for key, type, subject, payload, at in events]
    new = 0
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start:start + _CHUNK]
        keys = [row.key for row in chunk]
        before = OutboxEvent.objects.filter(key__in=keys).count()
        OutboxEvent.objects.bulk_create(chunk, ignore_conflicts=True)
        new += OutboxEvent.objects.filter(key__in=keys).count() - before
    return new


def as_json(payload: dict) -> dict:
    """The payload as plain JSON values: Decimal → "12.50", datetime → ISO 8601."""
    return json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
