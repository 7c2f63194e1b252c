"""What happened to members, read for journeys: the outbox's events (an order paid, a member registered, a tier
changed) and the member events of campaigns (custom ones: "event:<type>"), each source by its own cursor, safe
against ids that commit out of order (`settled_cursor`).

A pass lets members in where a live journey enters by that event (only events from the moment it went live) and
wakes the visits waiting for it (an event no older than their wait). Both are idempotent — an entry is keyed by its
event, a woken visit is not woken again — so an event read twice changes nothing the second time.
"""

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime

from django.db import transaction
from django.db.models import Max

from kopilka.campaigns.models import MemberEvent
from kopilka.communications import settled_cursor
from kopilka.communications.journeys import entry, rows
from kopilka.communications.journeys.graph import MEMBER_EVENT, OUTBOX_EVENTS, parse_trigger
from kopilka.communications.journeys.models import Journey, JourneyCursor, JourneyState
from kopilka.core import sql
from kopilka.core.models import OutboxEvent

PAGE = 5_000
_STATES = JourneyState._meta.db_table
_TYPES = ", ".join(f"'{name}'" for name in OUTBOX_EVENTS)
_OUTBOX = f"""
SELECT id, type, payload, occurred_at FROM {OutboxEvent._meta.db_table}
WHERE id > %s AND type IN ({_TYPES}) ORDER BY id LIMIT {PAGE}
"""
_MEMBER_EVENTS = f"""
SELECT id, type, member_id, occurred_at FROM {MemberEvent._meta.db_table} WHERE id > %s ORDER BY id LIMIT {PAGE}
"""

Happened = tuple[int, str, int, datetime]  # (id, event, member id, occurred at)


def _outbox(position: int) -> list[Happened]:
    found = []
    for event_id, type, payload, at in sql.rows(_OUTBOX, [position]):
        member_id = sql.document(payload).get("member_id")
        if member_id is not None:
            found.append((event_id, type, int(member_id), sql.moment(at)))
    return found


def _member_events(position: int) -> list[Happened]:
    return [(event_id, MEMBER_EVENT + type, member_id, sql.moment(at))
            for event_id, type, member_id, at in sql.rows(_MEMBER_EVENTS, [position])]


SOURCES: dict[str, tuple[Callable[[int], list[Happened]], Callable[[], int]]] = {
    "outbox": (_outbox, lambda: OutboxEvent.objects.aggregate(last=Max("id"))["last"] or 0),
    "member_events": (_member_events, lambda: MemberEvent.objects.aggregate(last=Max("id"))["last"] or 0),
}


def start_reading() -> None:
    """The cursors of the sources, made when the first journey goes live at the newest event of each: journeys
    answer what happens from then on."""
    for source, (_reader, newest) in SOURCES.items():
        JourneyCursor.objects.get_or_create(source=source, defaults={"position": newest()})


def read_events(now: datetime) -> int:
    """One pass over each source; returns how many events were read."""
    start_reading()
    read = 0
    for source, (reader, _newest) in SOURCES.items():
        with transaction.atomic():
            cursor = JourneyCursor.objects.select_for_update().get(source=source)
            happened = settled_cursor.advance(cursor, reader)
            _enter(happened, now)
            _wake(happened, now)
            cursor.save()
        read += len(happened)
    return read


def _enter(happened: list[Happened], now: datetime) -> None:
    by_event: dict[str, list[Happened]] = defaultdict(list)
    for one in happened:
        by_event[one[1]].append(one)
    for journey in Journey.objects.filter(status=Journey.Status.LIVE, trigger__kind="event"):
        wanted = parse_trigger(journey.trigger).event
        since = journey.live_since or now
        entries = [(member_id, f"{wanted}:{event_id}", at)
                   for event_id, _event, member_id, at in by_event.get(wanted, []) if at >= since]
        entry.enter_members(journey, entries, now)


def _wake(happened: list[Happened], now: datetime) -> None:
    """Visits waiting for one of these events, which came after they began to wait, are due now."""
    by_event: dict[str, list[tuple[int, str, datetime]]] = defaultdict(list)
    for _id, event, member_id, at in happened:
        by_event[event].append((member_id, event, at))
    moment = sql.at(now)
    for event, came in by_event.items():
        rows.write(
            f"UPDATE {_STATES} SET event_at = %s, wake_at = %s"
            f" WHERE status = 'waiting' AND waits_for = %s AND event_at IS NULL AND EXISTS ("
            f"SELECT 1 FROM ({rows.member_rows()}) e WHERE e.member_id = {_STATES}.member_id"
            f" AND e.at >= {_STATES}.step_since)",
            [moment, moment, event, *rows.member_rows_params(came)],
        )
