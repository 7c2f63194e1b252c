"""Reading a table by ascending id past a cursor without missing a row whose id committed out of order.

On PostgreSQL ids are drawn from a sequence when a transaction writes, not when it commits, so id 11 may be visible
while id 10 is still to commit. The cursor moves past an id only when nothing at or below it can still appear: ids
above a gap are handed on at once and read again until the gap is settled — filled by the late commit or left by a
rollback — and it is settled when every transaction that held an id when the gap was seen has ended: the highest
id seen by one pass is settled once the oldest running transaction (the snapshot's xmin) is newer than the next
transaction id (xmax) of the pass after it. The pass after covers a writer that drew its id a moment before it got
its transaction id. SQLite runs one writer at a time: what a pass sees is final.

So a row may be handed on more than once: whoever reads through a cursor acts idempotently per row.
"""

from collections.abc import Callable
from typing import Protocol

from django.db import connection

from kopilka.core import sql

_SNAPSHOT = ("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint, "
             "pg_snapshot_xmax(pg_current_snapshot())::text::bigint")


class Cursor(Protocol):
    """Every id ≤ `position` was handed on or never will exist; `seen_up_to` and `seen_before` are the highest ids
    seen by the last two passes, `seen_xmax` the xmax of the last pass's snapshot."""

    position: int
    seen_before: int
    seen_up_to: int
    seen_xmax: int | None


def read_past(cursor: Cursor, read: Callable[[int], list[tuple]]) -> list[tuple]:
    """One pass: the rows `read(position)` returns (ascending by their first column, the id), with the cursor
    moved in memory; call under the cursor row's lock and save it in the same transaction."""
    postgres = connection.vendor == "postgresql"
    if postgres:
        xmin, _xmax = _snapshot()
        gaps_settled = cursor.seen_xmax is not None and xmin >= cursor.seen_xmax
        settled_to = cursor.seen_before if gaps_settled else cursor.position
    rows = read(cursor.position)
    ids = [row[0] for row in rows]
    seen = ids[-1] if ids else cursor.position
    if postgres:
        cursor.position = _settled_position(cursor.position, ids, settled_to)
        cursor.seen_before, cursor.seen_up_to, cursor.seen_xmax = cursor.seen_up_to, seen, _snapshot()[1]
    else:
        cursor.position = cursor.seen_before = cursor.seen_up_to = seen
    return rows


def _settled_position(position: int, ids: list[int], settled_to: int) -> int:
    """The highest id such that every id from `position` up to it was seen (`ids`, ascending) or is settled."""
    for row_id in ids:
        if row_id - 1 > max(position, settled_to):
            break
        position = row_id
    return max(position, settled_to)


def _snapshot() -> tuple[int, int]:
    """PostgreSQL: (xmin, xmax) of a snapshot taken now — the oldest transaction still running and the next
    transaction id (64-bit: no wraparound)."""
    xmin, xmax = sql.rows(_SNAPSHOT)[0]
    return xmin, xmax
