"""How long the outbox is kept: webhook deliveries and outbox events are deleted KOPILKA["OUTBOX_DAYS"] after
they were finished with (the worker's daily job). The message log (`Message`, `Attempt`) is the member card's
history and is never pruned here.

A delivery goes once it is finished before the keeping time began: delivered then, or failed with its whole retry
window (`webhook_retries.WINDOW`) before it; with it go its tries. A pending one stays, however old — so does one
waiting for its endpoint to be turned on again. The row is locked while it is deleted, so a replay either comes
first (the delivery is pending again and stays) or finds it gone.

An event goes once it happened and was handed to the endpoints (`dispatched_at`) before the keeping time began, no
delivery of it is left, and every reader of the outbox has passed it: the notices' cursor (`NoticeCursor`) and the
journeys' (`JourneyCursor` "outbox") — each position only grows, and an id at or below it is never read again, so
a position read once bounds the whole run. No cursor of the notices yet: they will read from the first event, so
nothing goes; no journeys' cursor yet: it starts at the newest event when made, so it holds nothing back. Ids are
never reused (a sequence; AUTOINCREMENT on SQLite), so a reader's position keeps meaning the same events.

Nothing deleted is recorded again. Events of `outbox.record` have no key: nothing records them twice. Events built
afterwards by key (`outbox.record_once`) could be: an entry's event (`ledger_events`) is recorded again if its
entry is read again, which the ledger's cursor (`EntryCursor`) does for ids above its position — so such an event
stays until that position has passed its entry, and a journey step's event (`journeys.step_events`) until the steps'
cursor (`JourneyCursor` "steps") has passed its log row; a burn day's event (`expiring_points`) is recorded only
for days after `ExpiringRead.through_day`, which is at or past its day from the moment it is recorded and only
grows.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from kopilka.communications import webhook_retries
from kopilka.communications.journeys import step_events
from kopilka.communications.journeys.models import JourneyCursor
from kopilka.communications.ledger_events import KEY_PREFIX
from kopilka.communications.models import Delivery, EntryCursor
from kopilka.communications.notice_models import NoticeCursor
from kopilka.core.models import OutboxEvent

BATCH = 10_000


def prune_outbox_records(now: datetime) -> dict[str, int]:
    """Delete, in batches, the finished deliveries, then the events, kept longer than KOPILKA["OUTBOX_DAYS"] before
    `now`; returns how many of each went."""
    cutoff = now - timedelta(days=settings.KOPILKA["OUTBOX_DAYS"])
    return {"deliveries": _prune_deliveries(cutoff), "events": _prune_events(cutoff)}


def _prune_deliveries(cutoff: datetime) -> int:
    finished = (Q(status=Delivery.Status.DELIVERED, delivered_at__lt=cutoff)
                | Q(status=Delivery.Status.FAILED, window_from__lt=cutoff - webhook_retries.WINDOW))
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(Delivery.objects.select_for_update(skip_locked=True).filter(finished)
                       .order_by("id").values_list("id", flat=True)[:BATCH])
            if not ids:
                return deleted
            deleted += Delivery.objects.filter(finished, id__in=ids).only("id").delete()[1].get(
                Delivery._meta.label, 0)


def _prune_events(cutoff: datetime) -> int:
    """The events every reader has passed, with the positions read once before the first batch."""
    read_by_all = _passed_by_readers()
    entries_read = EntryCursor.objects.filter(pk=1).values_list("position", flat=True).first() or 0
    steps_read = JourneyCursor.objects.filter(source=step_events.SOURCE).values_list("position", flat=True).first() or 0
    gone = (
        Q(occurred_at__lt=cutoff, dispatched_at__lt=cutoff, id__lte=read_by_all)
        & (~Q(key__startswith=KEY_PREFIX) | Q(payload__entry_id__lte=entries_read))
        & (~Q(key__startswith=step_events.KEY_PREFIX) | Q(payload__taken_id__lte=steps_read))
        & ~Exists(Delivery.objects.filter(event=OuterRef("pk")))
    )
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(OutboxEvent.objects.filter(gone).order_by("id").values_list("id", flat=True)[:BATCH])
            if not ids:
                return deleted
            deleted += OutboxEvent.objects.filter(gone, id__in=ids).only("id").delete()[1].get(
                OutboxEvent._meta.label, 0)


def _passed_by_readers() -> int:
    """The highest event id every cursor reading the outbox has passed (0: none)."""
    notices = NoticeCursor.objects.filter(pk=1).values_list("position", flat=True).first() or 0
    journeys = JourneyCursor.objects.filter(source="outbox").values_list("position", flat=True).first()
    return notices if journeys is None else min(notices, journeys)
