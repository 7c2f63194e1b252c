"""Points accrued, spent and burned, as outbox events built afterwards from the ledger's entries (the ledger's
writes and the nightly expiry stay as fast as they are: nothing is added to them).

A pass reads the entries past the cursor (`EntryCursor`) and records one event per entry of a kind told of, once
per entry (its key). The cursor moves past an id only when nothing at or below it can still appear: on PostgreSQL
ids are drawn from a sequence when a transaction writes, not when it commits, so id 11 may be visible while id 10
is still to commit. Ids above such a gap are handed on at once and read again until the gap is settled — filled by
the late commit or left by a rollback — and it is settled when every transaction that held an id when the gap was
seen has ended: the highest id seen by one pass is settled once the oldest running transaction (the snapshot's
xmin) is newer than the next transaction id (xmax) of the pass after it. The pass after covers a writer that drew
its id a moment before it got its transaction id. SQLite runs one writer at a time: what a pass sees is final.
"""

from django.db import connection, transaction

from kopilka.communications.models import EntryCursor
from kopilka.core import outbox, sql
from kopilka.ledger.models import Account, Entry

EVENT_OF_KIND = {
    Entry.Kind.ACCRUAL: "points.accrued",
    Entry.Kind.SPEND: "points.spent",
    Entry.Kind.EXPIRY: "points.burned",
}
PAGE = 1000
MOST_PER_PASS = 20_000

_ENTRIES = f"""
SELECT e.id, e.kind, e.amount, e.balance_after, a.member_id, e.lot_id, e.source_kind, e.source_ref, e.effective_at
FROM {Entry._meta.db_table} e JOIN {Account._meta.db_table} a ON a.id = e.account_id
WHERE e.id > %s ORDER BY e.id LIMIT %s
"""
_SNAPSHOT = ("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint, "
             "pg_snapshot_xmax(pg_current_snapshot())::text::bigint")


def entries_to_events() -> int:
    """One pass over the entries past the cursor, under its lock (one pass at a time); returns how many events
    were new."""
    EntryCursor.objects.get_or_create(pk=1)
    with transaction.atomic():
        cursor = EntryCursor.objects.select_for_update().get(pk=1)
        postgres = connection.vendor == "postgresql"
        if postgres:
            xmin, _xmax = _snapshot()
            gaps_settled = cursor.seen_xmax is not None and xmin >= cursor.seen_xmax
            settled_to = cursor.seen_before if gaps_settled else cursor.position
        rows = _entries_past(cursor.position)
        recorded = outbox.record_once(_event(row) for row in rows if row[1] in EVENT_OF_KIND)
        ids = [row[0] for row in rows]
        seen = ids[-1] if ids else cursor.position
        if postgres:
            cursor.position = _settled_position(cursor.position, ids, settled_to)
            cursor.seen_before, cursor.seen_up_to, cursor.seen_xmax = cursor.seen_up_to, seen, _snapshot()[1]
        else:
            cursor.position = cursor.seen_before = cursor.seen_up_to = seen
        cursor.save()
    return recorded


def _settled_position(position: int, ids: list[int], settled_to: int) -> int:
    """The highest id such that every id from `position` up to it was seen (`ids`, ascending) or is settled."""
    for entry_id in ids:
        if entry_id - 1 > max(position, settled_to):
            break
        position = entry_id
    return max(position, settled_to)


def _entries_past(position: int) -> list[tuple]:
    rows: list[tuple] = []
    while len(rows) < MOST_PER_PASS:
        page = sql.rows(_ENTRIES, [rows[-1][0] if rows else position, PAGE])
        rows += page
        if len(page) < PAGE:
            break
    return rows


def _event(row: tuple) -> tuple[str, str, str, dict, object]:
    entry_id, kind, amount, balance_after, member_id, lot_id, source_kind, source_ref, effective_at = row
    at = sql.moment(effective_at)
    payload = {"member_id": member_id, "entry_id": entry_id, "points": abs(amount), "balance_after": balance_after,
               "lot_id": lot_id, "source": {"kind": source_kind, "ref": source_ref}, "at": at}
    return f"ledger.entry:{entry_id}", EVENT_OF_KIND[kind], f"member:{member_id}", payload, at


def _snapshot() -> tuple[int, int]:
    """PostgreSQL: (xmin, xmax) of a snapshot taken now — the oldest transaction still running and the next
    transaction id (64-bit: no wraparound)."""
    xmin, xmax = sql.rows(_SNAPSHOT)[0]
    return xmin, xmax
