"""A hold for a source made in the same transaction (an order just placed): `hold_fresh`.

Such a source has no earlier hold, so no earlier result under its key is looked for, and the hold runs in the
caller's transaction without a savepoint: a refusal raises and the caller's transaction must roll back (nothing of
it may be committed). The ledger's lock order holds: the account row first, then the lots. On PostgreSQL the hold
is two statements: the account locked, then one data-modifying CTE that checks the chosen lots as
`booking.check_chosen` does and, when they fit, writes the hold, its lines, the lots' and the account's held
points and (given one) the order's hold. SQLite books the same rows through the ORM.
"""

from datetime import datetime, timedelta

from django.db import connection
from django.db.models import F

from kopilka.core import sql
from kopilka.customers.models import Member
from kopilka.ledger import booking, statements
from kopilka.ledger._inputs import (
    Context,
    Source,
    check_key,
    check_points,
    check_redemption_order,
    context,
    programme_value,
)
from kopilka.ledger._locking import fingerprint_of, lock_account, lot_states, require_active
from kopilka.ledger.errors import InsufficientPoints
from kopilka.ledger.holds import _move_held
from kopilka.ledger.models import Account, Hold, HoldLine, Lot
from kopilka.orders.models import Order

_LOCK = f"""
SELECT a.id, m.status
FROM {Account._meta.db_table} a JOIN {Member._meta.db_table} m ON m.id = a.member_id
WHERE a.member_id = %s FOR UPDATE OF a
"""
# Holds only when every chosen lot is the account's and spendable at `at` with the points free (what
# `booking.check_chosen` requires); the statement starts after the account lock was granted, so it reads the lots
# as that lock leaves them.
_HOLD = f"""
WITH wanted AS (
    SELECT * FROM unnest(%(lots)s::bigint[], %(amounts)s::bigint[]) AS m(lot_id, amount)
), fits AS (
    SELECT COUNT(*) = cardinality(%(lots)s::bigint[]) AS ok FROM wanted JOIN {Lot._meta.db_table} l
    ON l.id = wanted.lot_id AND l.account_id = %(account)s AND l.remaining - l.held >= wanted.amount
       AND l.remaining - l.held > 0 AND l.activates_at <= %(at)s AND (l.expires_at IS NULL OR l.expires_at > %(at)s)
), h AS (
    INSERT INTO {Hold._meta.db_table} (account_id, amount, status, source_kind, source_ref, actor, idempotency_key,
                                       fingerprint, created_at, expires_at, closed_at, closed_by)
    SELECT %(account)s, %(points)s, %(status)s, %(source_kind)s, %(source_ref)s, %(actor)s, %(key)s, %(fingerprint)s,
           %(now)s, %(expires_at)s, NULL, '' FROM fits WHERE fits.ok
    RETURNING id
), lines AS (
    INSERT INTO {HoldLine._meta.db_table} (hold_id, lot_id, amount)
    SELECT h.id, wanted.lot_id, wanted.amount FROM h, wanted
), lots AS (
    UPDATE {Lot._meta.db_table} l SET held = l.held + wanted.amount FROM h, wanted WHERE l.id = wanted.lot_id
), account AS (
    UPDATE {Account._meta.db_table} SET held = held + %(points)s, updated_at = %(now)s
    WHERE id = %(account)s AND EXISTS (SELECT 1 FROM h)
), ordered AS (
    UPDATE {Order._meta.db_table} SET hold_id = h.id FROM h WHERE {Order._meta.db_table}.id = %(order)s
)
SELECT id FROM h
"""


def hold_fresh(*, member_id: int, lots: dict[int, int], actor: str, idempotency_key: str, source: Source,
               order_id: int | None = None) -> int:
    """Reserve {lot id: points} of the member's lots until capture, release or the programme's hold time; returns
    the hold's id, which becomes the hold of the order `order_id` (when given). Refused (raising) as `holds.hold`
    refuses; the hold carries the fingerprint `holds.hold` would give it, so a later `hold` under the same key is
    answered as its replay."""
    chosen = sorted(lots.items())
    points = check_points(sum(lots.values()))
    key = check_key(idempotency_key)
    ttl = programme_value("HOLD_TTL_SECONDS")
    ctx = context(actor, None, source)
    fingerprint = fingerprint_of("hold", member=member_id, points=points, source=source, ttl=ttl,
                                 policy=check_redemption_order(None), lots=chosen)
    member, account = _lock(member_id)
    require_active(member)
    expires_at = ctx.at + timedelta(seconds=ttl)
    if not statements.available():
        hold_id = _hold_by_orm(account, chosen, points, ctx, key, fingerprint, expires_at)
        if order_id is not None:
            Order.objects.filter(pk=order_id).update(hold_id=hold_id)
        return hold_id
    if any(n <= 0 for _lot, n in chosen):
        raise ValueError("the chosen points must be positive")
    row = sql.driver_rows(_HOLD, {
        "account": account.pk, "points": points, "status": Hold.Status.ACTIVE, "source_kind": source.kind,
        "source_ref": source.ref, "actor": actor, "key": key, "fingerprint": fingerprint, "now": ctx.now,
        "at": ctx.at, "expires_at": expires_at, "lots": sql.array([lot_id for lot_id, _n in chosen]),
        "amounts": sql.array([n for _lot, n in chosen]), "order": order_id,
    }, one=True)
    if row is None:  # a chosen lot no longer fits: refused as check_chosen refuses
        booking.check_chosen(lot_states(account, lot_ids=[lot_id for lot_id, _n in chosen]), chosen, points, ctx.at)
        raise InsufficientPoints(details={"requested": points, "lots": [lot_id for lot_id, _n in chosen]})
    return row[0]


def _lock(member_id: int) -> tuple[Member, Account]:
    """The member's account locked (opened on first use), with the member's status."""
    found = sql.rows(_LOCK, [member_id]) if statements.available() else []
    if not found:
        return lock_account(member_id)[:2]
    account_id, status = found[0]
    return (Member.from_db(connection.alias, ["id", "status"], [member_id, status]),
            Account.from_db(connection.alias, ["id", "member_id"], [account_id, member_id]))


def _hold_by_orm(account: Account, chosen: list[tuple[int, int]], points: int, ctx: Context, key: str,
                 fingerprint: str, expires_at: datetime) -> int:
    """The hold as `holds.hold` books it, for SQLite."""
    plan = booking.check_chosen(lot_states(account, lot_ids=[lot_id for lot_id, _n in chosen]), chosen, points,
                                ctx.at)
    reserved = Hold.objects.create(
        account=account, amount=points, source_kind=ctx.source.kind, source_ref=ctx.source.ref, actor=ctx.actor,
        idempotency_key=key, fingerprint=fingerprint, created_at=ctx.now, expires_at=expires_at,
    )
    HoldLine.objects.bulk_create([HoldLine(hold=reserved, lot_id=lot_id, amount=n) for lot_id, n in plan])
    _move_held(sorted(plan))
    Account.objects.filter(pk=account.pk).update(held=F("held") + points, updated_at=ctx.now)
    return reserved.pk
