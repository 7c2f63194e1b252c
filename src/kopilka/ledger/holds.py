"""Holds: points reserved in specific lots for an unfinished cart, until captured (spent), released or timed
out.

A hold's points stay in their lots (`held`) and out of every other spend; capture spends from the held lots
only; the rest of a hold is given back when it ends. `release_expired_holds` closes every hold whose time is
up.
"""

from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from kopilka.core import clock, sql
from kopilka.customers.models import Member
from kopilka.ledger import booking
from kopilka.ledger._bookkeeping import book
from kopilka.ledger._inputs import (
    MANUAL,
    Context,
    Source,
    check_key,
    check_points,
    check_redemption_order,
    context,
    programme_value,
)
from kopilka.ledger._locking import (
    atomic_write,
    earlier_result,
    fingerprint_of,
    lock_account,
    lock_lots,
    lot_states,
    require_active,
)
from kopilka.ledger.errors import HoldNotActive, HoldNotFound, InvalidDates, InvalidPoints
from kopilka.ledger.models import Account, Entry, Hold, HoldLine, Lot


@atomic_write
def hold(
    *,
    member_id: int,
    points: int,
    actor: str,
    idempotency_key: str,
    source: Source = MANUAL,
    ttl_seconds: int | None = None,
    redemption_order: str | None = None,
    lots: dict[int, int] | None = None,
    at: datetime | None = None,
) -> Hold:
    """Reserve `points` in specific lots until capture, release or `ttl_seconds`: the lots given as
    {lot id: points} (a cart's plan), or else lots chosen in redemption order."""
    points = check_points(points)
    key = check_key(idempotency_key)
    policy = check_redemption_order(redemption_order)
    ttl = programme_value("HOLD_TTL_SECONDS") if ttl_seconds is None else ttl_seconds
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not 0 < ttl <= 7 * 24 * 3600:
        raise InvalidDates(_("A hold lives from 1 second to 7 days."), details={"ttl_seconds": ttl})
    ctx = context(actor, at, source)
    chosen = sorted(lots.items()) if lots else None
    fingerprint = fingerprint_of(
        "hold", member=member_id, points=points, source=source, ttl=ttl, policy=policy, lots=chosen
    )
    member, account = lock_account(member_id)[:2]
    if (done := earlier_result(Hold, key, fingerprint)) is not None:
        return done
    require_active(member)
    if chosen is None:
        plan = booking.plan_spend(lot_states(account), points, ctx.at, policy)
    else:
        states = lot_states(account, lot_ids=[lot_id for lot_id, _n in chosen])
        plan = booking.check_chosen(states, chosen, points, ctx.at)
    reserved = Hold.objects.create(
        account=account,
        amount=points,
        source_kind=source.kind,
        source_ref=source.ref,
        actor=actor,
        idempotency_key=key,
        fingerprint=fingerprint,
        created_at=ctx.now,
        expires_at=ctx.at + timedelta(seconds=ttl),
    )
    HoldLine.objects.bulk_create([HoldLine(hold=reserved, lot_id=lot_id, amount=n) for lot_id, n in plan])
    _move_held(sorted(plan))
    Account.objects.filter(pk=account.pk).update(held=F("held") + points, updated_at=ctx.now)
    return reserved


def _locked_hold(hold_id: int) -> tuple[Member, Account, Hold]:
    account_id = Hold.objects.filter(pk=hold_id).values_list("account_id", flat=True).first()
    if account_id is None:
        raise HoldNotFound(details={"hold_id": hold_id})
    member_id = Account.objects.filter(pk=account_id).values_list("member_id", flat=True).get()
    member, account = lock_account(member_id)[:2]
    return member, account, Hold.objects.select_for_update().get(pk=hold_id)


def _move_held(deltas: list[tuple[int, int]]) -> None:
    """Adds each delta to its lot's held points, in one statement (the lots are the locked account's: no other
    write touches them meanwhile)."""
    if not deltas:
        return
    cases = " ".join("WHEN %s THEN %s" for _ in deltas)
    ids = [lot_id for lot_id, _ in deltas]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Lot._meta.db_table} SET held = held + CASE id {cases} END WHERE id IN ({sql.placeholders(ids)})",
            [value for pair in deltas for value in pair] + ids,
        )


def _end_hold(account: Account, reserved: Hold, status: str, ctx: Context, lines: list[HoldLine] | None = None) -> None:
    """Give back every reserved point of the hold's lots and close it with `status`."""
    lines = list(reserved.lines.all()) if lines is None else lines
    _move_held(sorted((line.lot_id, -line.amount) for line in lines))
    Account.objects.filter(pk=account.pk).update(held=F("held") - reserved.amount, updated_at=ctx.now)
    reserved.status = status
    reserved.closed_at = ctx.now
    reserved.closed_by = ctx.actor
    reserved.save(update_fields=["status", "closed_at", "closed_by"])


@atomic_write
def capture(
    *,
    hold_id: int,
    actor: str,
    idempotency_key: str,
    points: int | None = None,
    comment: str = "",
    at: datetime | None = None,
) -> Entry:
    """Spend (up to) the held points from the held lots; the rest of the hold is released."""
    key = check_key(idempotency_key)
    fingerprint = fingerprint_of("capture", hold=hold_id, points=points)
    member, account, reserved = _locked_hold(hold_id)
    if (done := earlier_result(Entry, key, fingerprint)) is not None:
        return done
    ctx = context(actor, at, Source(reserved.source_kind, reserved.source_ref), comment=comment)
    if reserved.status != Hold.Status.ACTIVE or reserved.expires_at <= ctx.now:
        raise HoldNotActive(details={"hold_id": hold_id, "status": reserved.status})
    require_active(member)
    points = reserved.amount if points is None else check_points(points)
    if points > reserved.amount:
        raise InvalidPoints(
            _("Cannot capture more than the %(held)d points held.") % {"held": reserved.amount},
            details={"points": points, "held": reserved.amount},
        )
    lines = list(reserved.lines.order_by("id"))
    lock_lots([line.lot_id for line in lines])
    _end_hold(account, reserved, Hold.Status.CAPTURED, ctx, lines)
    moves, left = [], points
    for line in lines:
        take = min(line.amount, left)
        if take:
            moves.append((line.lot_id, -take))
            left -= take
    return book(
        account, Entry.Kind.SPEND, -points, ctx, moves=moves, hold=reserved, idempotency_key=key,
        fingerprint=fingerprint, details={"held": reserved.amount},
    )


@atomic_write
def release(*, hold_id: int, actor: str, at: datetime | None = None) -> Hold:
    """End a hold without spending. Releasing a hold that already ended is a no-op; a captured one is refused."""
    _member, account, reserved = _locked_hold(hold_id)
    if reserved.status == Hold.Status.CAPTURED:
        raise HoldNotActive(details={"hold_id": hold_id, "status": reserved.status})
    if reserved.status == Hold.Status.ACTIVE:
        _end_hold(account, reserved, Hold.Status.RELEASED, context(actor, at, Source()))
    return reserved


def end_expired_hold(hold_id: int, actor: str = "system:holds") -> bool:
    """Close one timed-out hold; False when it had already ended."""
    with transaction.atomic():
        _member, account, reserved = _locked_hold(hold_id)
        ctx = context(actor, None, Source())
        if reserved.status != Hold.Status.ACTIVE or reserved.expires_at > ctx.now:
            return False
        _end_hold(account, reserved, Hold.Status.EXPIRED, ctx)
        return True


def release_expired_holds(*, now: datetime | None = None, actor: str = "system:holds") -> int:
    """Close every active hold whose time is up; returns how many were closed."""
    now = now or clock.now()
    ids = list(Hold.objects.filter(status=Hold.Status.ACTIVE, expires_at__lte=now).values_list("id", flat=True))
    return sum(end_expired_hold(hold_id, actor) for hold_id in ids)
