"""Personal notices made from the outbox's events: points accrued and spent (the ledger's entries, turned into
events by `ledger_events`), points about to burn (`expiring_points`) and tier changes (`tiers`).

A pass reads the events past the cursor (`NoticeCursor`, moved by `settled_cursor`) and tells each member of the
kinds that are on of what happened since each was switched on (the event's moment); what happened while a kind was
off is never told, though its events may be read again. The entries one source
booked for one member together (a purchase's accruals from several campaigns) make one notice of their sum, named
by the first of them; any other event makes its own notice. A notice is recorded once per (kind, source), so
events read again change nothing.
"""

from django.db import transaction

from kopilka.communications import notice_settings, settled_cursor
from kopilka.communications.ledger_events import entries_to_events
from kopilka.communications.notice_kinds import KIND_OF_EVENT, Kind
from kopilka.communications.notice_messages import tell
from kopilka.communications.notice_models import NoticeCursor, NoticeSetting
from kopilka.core import sql
from kopilka.core.models import OutboxEvent
from kopilka.tiers.models import Tier

PAGE = 1000
MOST_PASSES = 20
_BOOKED = ("points.accrued", "points.spent")


def events_to_notices() -> int:
    """Turn the ledger's new entries into events, then the events into notices, pass after pass while passes come
    back full; returns how many events were read."""
    entries_to_events()
    read = 0
    for _pass in range(MOST_PASSES):
        count = _one_pass()
        read += count
        if count < PAGE:
            break
    return read


def _one_pass() -> int:
    """One pass under the cursor's lock (one pass at a time); the notices commit with the cursor's move."""
    NoticeCursor.objects.get_or_create(pk=1)
    with transaction.atomic():
        cursor = NoticeCursor.objects.select_for_update().get(pk=1)
        rows = settled_cursor.advance(cursor, _events_past)
        on = {kind: notice_settings.enabled(kind) for kind in set(KIND_OF_EVENT.values())}
        for group in _groups(rows):
            setting = on[KIND_OF_EVENT[group[0][1]]]
            if setting is not None and notice_settings.tells_of(setting, sql.moment(group[0][3])):
                _tell_of(setting, group)
        cursor.save()
    return len(rows)


def _events_past(position: int) -> list[tuple]:
    """(id, type, payload, occurred_at) of the next page of events; a full page leaves out its last group of booked
    entries when that may go on in the next page."""
    rows = list(OutboxEvent.objects.filter(id__gt=position).order_by("id")
                .values_list("id", "type", "payload", "occurred_at")[:PAGE])
    if len(rows) == PAGE:
        last = _group_key(rows[-1])
        kept = [row for row in rows if _group_key(row) != last]
        return kept or rows
    return rows


def _group_key(row: tuple) -> tuple:
    event_id, type_, payload, _at = row
    source = (payload.get("source") or {}) if type_ in _BOOKED else {}
    if source.get("ref"):
        return type_, payload["member_id"], source["kind"], source["ref"]
    return ("event", event_id)


def _groups(rows: list[tuple]) -> list[list[tuple]]:
    """The events of kinds told of, grouped (`_group_key`), in the order of their first event."""
    groups: dict[tuple, list[tuple]] = {}
    for row in rows:
        if row[1] in KIND_OF_EVENT:
            groups.setdefault(_group_key(row), []).append(row)
    return list(groups.values())


def _tell_of(setting: NoticeSetting, group: list[tuple]) -> None:
    _first_id, type_, payload, occurred_at = group[0]
    member_id, since = payload["member_id"], sql.moment(occurred_at)
    if type_ in _BOOKED:
        tell(setting, member_id, source=f"ledger.entry:{payload['entry_id']}", since=since,
             extra={"notice": {"points": sum(row[2]["points"] for row in group)}})
    elif setting.kind == Kind.POINTS_EXPIRING:
        day = sql.day(payload["last_day"])
        tell(setting, member_id, source=f"member:{member_id}:burns:{day.isoformat()}", since=since,
             until=sql.moment(payload["burns_at"]), extra={"notice": {"points": payload["points"], "date": day}})
    else:
        names = dict(Tier.objects.filter(code__in=[payload["from_tier"], payload["to_tier"]])
                     .values_list("code", "name"))
        tell(setting, member_id, source=f"outbox.event:{group[0][0]}", since=since,
             extra={"tier": {"name": names.get(payload["to_tier"], "")},
                    "notice": {"previous_tier": names.get(payload["from_tier"], "")}})
