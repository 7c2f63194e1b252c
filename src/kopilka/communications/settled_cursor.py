"""Reading rows numbered by ids past a cursor (`cursor_models.SettledCursor`) without missing one committed late.

On PostgreSQL ids are drawn from a sequence when a transaction writes, not when it commits, so id 11 may be
visible while id 10 is still to commit. Rows above such a gap are handed on at once and read again until the gap
is settled — filled by the late commit or left by a rollback — and it is settled when every transaction that held
an id when the gap was seen has ended: the highest id seen by one pass is settled once the oldest running
transaction (the snapshot's xmin) is newer than the next transaction id (xmax) of the pass after it. The pass after
covers a writer that drew its id a moment before it got its transaction id. SQLite runs one writer at a time: what
a pass sees is final. A reader therefore handles a row once per key of its own, not once per read.
"""

from collections.abc import Callable

from django.db import connection

from kopilka.communications.cursor_models import SettledCursor
from kopilka.core import sql

_SNAPSHOT = ("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint, "
             "pg_snapshot_xmax(pg_current_snapshot())::text::bigint")


def advance(cursor: SettledCursor, read_past: Callable[[int], list[tuple]]) -> list[tuple]:
    """The rows past the cursor's position, read by `read_past(position)` (ascending ids, each row's first value),
    and the cursor moved as far as nothing at or below can still appear. The caller holds the cursor's row lock and
    saves it in the transaction that handles the rows."""
    postgres = connection.vendor == "postgresql"
    if postgres:
        xmin, _xmax = _snapshot()
        gaps_settled = cursor.seen_xmax is not None and xmin >= cursor.seen_xmax
        settled_to = cursor.seen_before if gaps_settled else cursor.position
    rows = read_past(cursor.position)
    ids = [row[0] for row in rows]
    seen = ids[-1] if ids else cursor.position
    if postgres:
        cursor.position = _settled_position(cursor.position, ids, settled_to)
        cursor.seen_before, cursor.seen_up_to, cursor.seen_xmax = cursor.seen_up_to, seen, _snapshot()[1]
    else:
        cursor.position = cursor.seen_before = cursor.seen_up_to = seen
    return rows


def pages_of(statement: str, *, page: int = 1000, most: int = 20_000) -> Callable[[int], list[tuple]]:
    """A `read_past` for `advance`: `statement` (two parameters: the id to read past, the page's size; ascending ids
    first in each row) read page by page until a short page or at least `most` rows."""

    def read_past(position: int) -> list[tuple]:
        rows: list[tuple] = []
        while len(rows) < most:
            found = sql.rows(statement, [rows[-1][0] if rows else position, page])
            rows += found
            if len(found) < page:
                break
        return rows

    return read_past


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
