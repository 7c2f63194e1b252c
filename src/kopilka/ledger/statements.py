"""The ledger's hot writes on PostgreSQL, each one statement (a data-modifying CTE) instead of one per row.

`services` decides what to book (it holds the account lock and has planned every lot movement); these functions
only write it. Every sub-statement of a CTE sees the same snapshot and all of them commit or fail together, so an
entry, its allocations, the lot remainders and the balance snapshot can never disagree. SQLite has no
data-modifying CTEs: there `services` books the same rows through the ORM.
"""

import json
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, connection

from kopilka.core.sql import array, driver_rows
from kopilka.ledger import booking


def available() -> bool:
    """Whether the database runs these statements (PostgreSQL); tests switch it off to compare with the ORM path."""
    return connection.vendor == "postgresql"


_ENTRY_COLUMNS = (
    "account_id, kind, amount, balance_after, lot_id, hold_id, reverses_id, source_kind, source_ref, reason_code,"
    " comment, details, actor, idempotency_key, fingerprint, effective_at, created_at"
)
_ENTRY_VALUES = (
    "%(account)s, %(kind)s, %(amount)s, %(balance)s, {lot}, %(hold)s, %(reverses)s, %(source_kind)s, %(source_ref)s,"
    " %(reason_code)s, %(comment)s, %(details)s::jsonb, %(actor)s, %(key)s, %(fingerprint)s, %(at)s, %(now)s"
)


@dataclass(frozen=True)
class EntryRow:
    """The columns of one entry to insert; `balance` is the account balance after it."""

    account: int
    kind: str
    amount: int
    balance: int
    source_kind: str
    source_ref: str
    reason_code: str
    comment: str
    actor: str
    at: datetime
    now: datetime
    lot: int | None = None
    hold: int | None = None
    reverses: int | None = None
    details: dict | None = None
    key: str | None = None
    fingerprint: str = ""

    def params(self) -> dict:
        values = dict(self.__dict__)
        values["details"] = None if self.details is None else json.dumps(self.details)
        return values


# The entry goes in first and every other write of the statement depends on it: a key taken by another request
# inserts nothing, writes nothing, returns no row and leaves the caller's transaction usable.
_BOOK = f"""
WITH entry AS (
    INSERT INTO ledger_entry ({_ENTRY_COLUMNS}) VALUES ({_ENTRY_VALUES.format(lot="%(lot)s")})
    ON CONFLICT DO NOTHING
    RETURNING id
), allocated AS (
    INSERT INTO ledger_allocation (entry_id, lot_id, amount)
    SELECT entry.id, m.lot_id, m.amount
    FROM entry, unnest(%(move_lots)s::bigint[], %(move_amounts)s::bigint[]) WITH ORDINALITY AS m(lot_id, amount, n)
    ORDER BY m.n
), moved AS (
    UPDATE ledger_lot l SET remaining = l.remaining + m.delta
    FROM entry, unnest(%(lots)s::bigint[], %(deltas)s::bigint[]) AS m(lot_id, delta)
    WHERE l.id = m.lot_id
), balanced AS (
    UPDATE ledger_account SET balance = %(balance)s, updated_at = %(now)s
    WHERE id = %(account)s AND EXISTS (SELECT 1 FROM entry)
)
SELECT id FROM entry
"""


def book(row: EntryRow, moves: list[tuple[int, int]]) -> int:
    """Insert the entry, its allocations `moves` [(lot id, amount)] in that order, add the entry's amount to its own
    lot (if any) and the moves to their lots, and set the balance snapshot; returns the entry id. IntegrityError,
    with nothing written, when the entry's key is taken.

    Lots are updated in id order (the ledger's lock order); the caller holds the account lock."""
    deltas: dict[int, int] = {}
    if row.lot is not None and row.amount:
        deltas[row.lot] = row.amount
    for lot_id, amount in moves:
        deltas[lot_id] = deltas.get(lot_id, 0) + amount
    lots = sorted(deltas)
    params = row.params() | {
        "move_lots": array([lot_id for lot_id, _ in moves]),
        "move_amounts": array([amount for _, amount in moves]),
        "lots": array(lots),
        "deltas": array([deltas[lot_id] for lot_id in lots]),
    }
    return inserted(_execute_one(_BOOK, params), row.key)[0]


def inserted(row: tuple | None, key: str | None) -> tuple:
    """The row a statement that inserts an entry `ON CONFLICT DO NOTHING` returned; IntegrityError when it returned
    none (the key was taken: nothing was written)."""
    if row is None:
        raise IntegrityError(f"ledger entry key taken: {key}")
    return row


_CREDIT = f"""
WITH lot AS (
    INSERT INTO ledger_lot (account_id, category_id, source_kind, source_ref, amount, remaining, held, accrued_at,
                            activates_at, expires_at, is_debt)
    VALUES (%(account)s, %(category)s, %(source_kind)s, %(source_ref)s, %(amount)s, %(amount)s, 0, %(at)s,
            %(activates_at)s, %(expires_at)s, false)
    RETURNING id
), entry AS (
    INSERT INTO ledger_entry ({_ENTRY_COLUMNS}) SELECT {_ENTRY_VALUES.format(lot="lot.id")} FROM lot
    RETURNING id, lot_id
), balanced AS (
    UPDATE ledger_account SET balance = %(balance)s, updated_at = %(now)s WHERE id = %(account)s
)
SELECT entry.id, entry.lot_id,
       EXISTS (SELECT 1 FROM ledger_lot d WHERE d.account_id = %(account)s AND d.is_debt AND d.remaining < 0)
FROM entry
"""


def credit(
    row: EntryRow, *, category: int, activates_at: datetime, expires_at: datetime | None
) -> tuple[int, int, bool]:
    """Insert a lot holding `row.amount` points (created full, not updated afterwards), the entry booked on it, and
    set the balance snapshot; returns (entry id, lot id, whether the account has debts to settle from the lot)."""
    params = row.params() | {"category": category, "activates_at": activates_at, "expires_at": expires_at}
    entry_id, lot_id, has_debts = _execute_one(_CREDIT, params)
    return entry_id, lot_id, has_debts


_CAPTURE = f"""
WITH entry AS (
    INSERT INTO ledger_entry ({_ENTRY_COLUMNS}) VALUES ({_ENTRY_VALUES.format(lot="NULL")})
    ON CONFLICT DO NOTHING
    RETURNING id
), allocated AS (
    INSERT INTO ledger_allocation (entry_id, lot_id, amount)
    SELECT entry.id, m.lot_id, m.amount
    FROM entry, unnest(%(move_lots)s::bigint[], %(move_amounts)s::bigint[]) WITH ORDINALITY AS m(lot_id, amount, n)
    ORDER BY m.n
), moved AS (
    UPDATE ledger_lot l SET remaining = l.remaining + m.delta, held = l.held - m.unheld
    FROM entry, unnest(%(lots)s::bigint[], %(deltas)s::bigint[], %(unheld)s::bigint[]) AS m(lot_id, delta, unheld)
    WHERE l.id = m.lot_id
), balanced AS (
    UPDATE ledger_account SET balance = %(balance)s, held = %(account_held)s, updated_at = %(now)s
    WHERE id = %(account)s AND EXISTS (SELECT 1 FROM entry)
), closed AS (
    UPDATE ledger_hold SET status = %(captured)s, closed_at = %(now)s, closed_by = %(actor)s
    WHERE id = %(hold)s AND EXISTS (SELECT 1 FROM entry)
)
SELECT id FROM entry
"""


def capture(row: EntryRow, lines: list[tuple[int, int]], *, account_held: int, captured: str) -> int:
    """Book the capture of the whole hold `row.hold`, whose lines are `lines` [(lot id, points)] in id order: the
    spend entry, its allocations, each lot's points drawn and no longer held, the account's balance and held
    points, and the hold closed with status `captured`; returns the entry id. IntegrityError, with nothing
    written, when the entry's key is taken. The caller holds the account lock."""
    deltas: dict[int, int] = {}
    for lot_id, points in lines:
        deltas[lot_id] = deltas.get(lot_id, 0) + points
    lots = sorted(deltas)
    params = row.params() | {
        "move_lots": array([lot_id for lot_id, _ in lines]),
        "move_amounts": array([-points for _, points in lines]), "lots": array(lots),
        "deltas": array([-deltas[lot_id] for lot_id in lots]),
        "unheld": array([deltas[lot_id] for lot_id in lots]),
        "account_held": account_held, "captured": captured,
    }
    return inserted(_execute_one(_CAPTURE, params), row.key)[0]


# The lot columns the redemption orders of `booking` are written with in `_SPENDABLE_PREFIX`. The orders only
# narrow what is read: booking.plan_spend still sorts and draws, so a difference here could make a spend read
# more lots than needed, never draw other ones.
_LOT_COLUMNS = {
    "category_rank": "c.redemption_rank", "accrued_at": "l.accrued_at", "expires_at": "l.expires_at",
    "id": "l.id",
}

_SPENDABLE_PREFIX = """
SELECT id, rank, accrued_at, activates_at, expires_at, remaining, held FROM (
    SELECT l.id, c.redemption_rank AS rank, l.accrued_at, l.activates_at, l.expires_at, l.remaining, l.held,
           SUM(l.remaining - l.held) OVER (ORDER BY {order} ROWS UNBOUNDED PRECEDING) - (l.remaining - l.held)
               AS free_before
    FROM ledger_lot l JOIN ledger_lotcategory c ON c.id = l.category_id
    WHERE l.account_id = (SELECT a.id FROM ledger_account a WHERE a.member_id = %(member)s)
      AND l.spendable AND NOT l.is_debt
      AND l.activates_at <= %(at)s AND COALESCE(l.expires_at, 'infinity') > %(at)s
) spendable
WHERE free_before < %(points)s
ORDER BY id
"""
_SPENDABLE_PREFIX_BY_POLICY = {
    policy: _SPENDABLE_PREFIX.format(order=booking.redemption_order_sql(policy, _LOT_COLUMNS))
    for policy in booking.REDEMPTION_ORDERS
}


def spendable_prefix(member: int, points: int, at: datetime, policy: str) -> tuple[str, dict]:
    """The query for the member's lots spendable at `at`, taken in the `policy` redemption order until their free
    points cover `points` (all of them when they do not), as rows for `booking.LotState`, in id order.

    The rest of the account's lots cannot be drawn by a spend of `points` under this policy, so they are not read."""
    return _SPENDABLE_PREFIX_BY_POLICY[policy], {"member": member, "at": at, "points": points}


def run_together(queries: list[tuple[str, dict]]) -> list[list[tuple]]:
    """Execute the statements in order and return each one's rows; on PostgreSQL in one round trip when the driver
    binds parameters on the client (Django's default), as one multi-statement query.

    Each statement still runs on its own: under READ COMMITTED it sees what was committed when it started, so a read
    sent after a row lock sees everything committed before that lock was granted."""
    with connection.cursor() as cursor:
        if len(queries) > 1 and _binds_on_client(cursor):
            cursor.execute("; ".join(cursor.cursor.mogrify(sql, params) for sql, params in queries))
            results = [cursor.fetchall()]
            while cursor.nextset():
                results.append(cursor.fetchall())
            return results
        results = []
        for sql, params in queries:
            cursor.execute(sql, params)
            results.append(cursor.fetchall())
        return results


def _binds_on_client(cursor) -> bool:
    if not available():
        return False
    from psycopg import ClientCursor

    return isinstance(cursor.cursor, ClientCursor)


def _execute_one(sql: str, params: dict) -> tuple:
    """Run one statement on Django's connection (inside its transaction) and return its first row."""
    return driver_rows(sql, params, one=True)


# The booking functions live in the database (migration ledger 0004). A change to the ledger's tables, or to what a
# spend or an accrual books, replaces them in a new migration; tests compare them with the Python path, and the
# spend function's redemption orders with `booking.REDEMPTION_ORDERS_BY` (test_redemption_order.py).


@dataclass(frozen=True)
class AtOnce:
    """What a booking function answered: `outcome` "ok" (booked), or why it wrote nothing — "no_account",
    "replay" (`entry_id` is the entry booked under the key, `detail` its fingerprint), "inactive" (`detail` is the
    member's status), "insufficient" (`detail` is the spendable total), "debts" (a new lot must settle them)."""

    outcome: str
    entry_id: int | None
    account_id: int | None
    balance_after: int | None
    detail: str | None
    lot_id: int | None = None


_SPEND_AT_ONCE = (
    "SELECT outcome, entry_id, account, balance_after, detail FROM kopilka_spend("
    "%(member)s, %(points)s, %(at)s, %(policy)s, %(ranks)s, %(key)s, %(fingerprint)s,"
    " %(source_kind)s, %(source_ref)s, %(reason_code)s, %(comment)s, %(actor)s, %(now)s)"
)

_ACCRUE_AT_ONCE = (
    "SELECT outcome, entry_id, account, balance_after, detail, lot_id FROM kopilka_accrue("
    "%(member)s, %(points)s, %(category)s, %(at)s, %(activates_at)s, %(expires_at)s, %(key)s, %(fingerprint)s,"
    " %(kind)s, %(source_kind)s, %(source_ref)s, %(reason_code)s, %(comment)s, %(actor)s, %(now)s,"
    " %(details)s::jsonb)"
)


_ACCRUE_MANY_AT_ONCE = (
    "SELECT outcome, booked, account, entry_ids, lot_ids, balances, detail FROM kopilka_accrue_many("
    "%(member)s, %(points)s::bigint[], %(categories)s::bigint[], %(at)s, %(activates_at)s::timestamptz[],"
    " %(expires_at)s::timestamptz[], %(keys)s::text[], %(fingerprints)s::text[], %(kind)s, %(source_kinds)s::text[],"
    " %(source_refs)s::text[], %(reason_code)s, %(comment)s, %(actor)s, %(now)s, %(details)s::jsonb[])"
)


@dataclass(frozen=True)
class ManyAtOnce:
    """What `kopilka_accrue_many` answered: the first `booked` accruals were booked (their entry and lot ids and the
    balance after each); `outcome` is "ok" when all were, else why the next one was not (as `AtOnce.outcome`, or
    "collision": a key taken meanwhile, nothing booked)."""

    outcome: str
    booked: int
    account_id: int | None
    entry_ids: list[int]
    lot_ids: list[int]
    balances: list[int]
    detail: str | None


def accrue_many_at_once(params: dict) -> ManyAtOnce:
    """Accruals of one member, each a new lot and its entry (with its details, JSON text or NULL), booked by one
    call of `kopilka_accrue_many` (migration ledger 0013) in order, up to the first the Python path must book."""
    return ManyAtOnce(*_call(_ACCRUE_MANY_AT_ONCE, params))


def spend_at_once(params: dict) -> AtOnce:
    """Lock the account, check the key and the member, draw `points` in the `policy` order and book the spend, in one
    call of the `kopilka_spend` function (migration ledger 0004); without a transaction around it, one round trip.

    `ranks` are the point categories grouped by redemption rank, in rank order (`reference.by_rank`)."""
    return AtOnce(*_call(_SPEND_AT_ONCE, params))


def accrue_at_once(params: dict) -> AtOnce:
    """The same for an accrual: a new lot and its entry with its details (`kopilka_accrue`, migration ledger
    0013)."""
    return AtOnce(*_call(_ACCRUE_AT_ONCE, params))


def _call(sql: str, params: dict) -> tuple:
    """One call of a booking function, its row read in binary (the hot path: no text to parse back)."""
    return driver_rows(sql, params, one=True, binary=True)
