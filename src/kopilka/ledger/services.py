"""Ledger writes: accrue, spend, hold / capture / release, reverse, restore, adjust.

Every write runs in one transaction that locks the member's account row first, then the lots it touches in id
order (the fixed lock order), books immutable entries, moves lot remainders and the balance snapshot together, and
returns the entry (or hold) it made. Every write from outside carries an idempotency key: the same key with the same
request returns the first result; with another request it is refused. Nothing is written when a write is refused.
Expiry lives in `expiry.py`.

Round trips are what a write costs (the booking rules are cheap), so the hot path is short. On PostgreSQL a spend
or an accrual is one call of a database function (`statements.spend_at_once`, `accrue_at_once`) that locks, checks
and books; it leaves to the Python path every case with more to decide (first write of a member, debts to settle).
That path: one statement locks the account and reads the member's status and any earlier entry under the key (a
spend sends the read of its candidate lots along with it); on PostgreSQL one more statement (`statements.py`) writes
the entry, allocations, lots and balance. SQLite, which has no data-modifying CTEs, books the same rows through the
ORM; tests compare the paths.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import wraps

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from kopilka.core import clock, programme
from kopilka.core.errors import IdempotencyKeyReused, NotFound, ValidationFailed
from kopilka.customers.models import Member
from kopilka.ledger import booking, reference, statements
from kopilka.ledger.errors import (
    EntryNotFound,
    HoldNotActive,
    HoldNotFound,
    InsufficientPoints,
    InvalidDates,
    InvalidPoints,
    MemberCannotEarnOrSpend,
    NothingToReverse,
    PointsAlreadySpent,
    UnknownCategory,
    UnknownReasonCode,
)
from kopilka.ledger.expiry import expire, release_expired_holds
from kopilka.ledger.models import Account, Allocation, Entry, Hold, HoldLine, Lot, ReasonCode

__all__ = [
    "Source",
    "accrue",
    "spend",
    "hold",
    "capture",
    "release",
    "reverse_accrual",
    "restore_spend",
    "adjust",
    "expire",
    "release_expired_holds",
]

MAX_LIFETIME_DAYS = 36_500


@dataclass(frozen=True)
class Source:
    """What caused a change, in the caller's words: ("campaign", "12:v3"), ("order", "A-1001"), ("manual", "")."""

    kind: str = "manual"
    ref: str = ""


def _programme(name: str):
    return programme.value(name) if name in programme.FIELDS else settings.KOPILKA[name]


# --- validation ---------------------------------------------------------------------------------------------------


def _check_points(points, *, allow_negative: bool = False) -> int:
    limit = _programme("MAX_POINTS_PER_OPERATION")
    if isinstance(points, bool) or not isinstance(points, int):
        raise InvalidPoints(_("Points must be a whole number."), details={"points": str(points)})
    if points == 0 or (points < 0 and not allow_negative):
        raise InvalidPoints(
            _("Points must be greater than zero.") if not allow_negative else _("Points must not be zero."),
            details={"points": points},
        )
    if abs(points) > limit:
        raise InvalidPoints(
            _("At most %(limit)d points can be moved in one operation.") % {"limit": limit},
            details={"points": points, "limit": limit},
        )
    return points


def _check_key(key: str) -> str:
    if not isinstance(key, str) or not key.strip():
        raise ValidationFailed(_("An idempotency key is required."), code="idempotency_key_required")
    if len(key) > 250:
        raise ValidationFailed(_("The idempotency key is too long."), code="idempotency_key_invalid")
    return key


def _category(code: str) -> reference.Category:
    category = reference.category(code)
    if category is None or code == reference.DEBT:
        raise UnknownCategory(details={"category": code, "known": reference.codes()})
    return category


def _check_reason(code: str, *, required: bool) -> str:
    if not code:
        if required:
            raise UnknownReasonCode(_("A reason code is required."), details={"reason_code": code})
        return ""
    if not ReasonCode.objects.filter(code=code, is_active=True).exists():
        known = list(ReasonCode.objects.filter(is_active=True).values_list("code", flat=True))
        raise UnknownReasonCode(details={"reason_code": code, "known": known})
    return code


def _expiry(at: datetime, expires_at: datetime | None, lifetime_days: int | None) -> datetime:
    """Explicit expiry, or the end of the day `lifetime_days` after `at` (programme default when neither is given)."""
    if expires_at is not None and lifetime_days is not None:
        raise InvalidDates(_("Give either an expiry time or a lifetime, not both."))
    if expires_at is not None:
        expires_at = clock.make_aware(expires_at)
        if expires_at <= at:
            raise InvalidDates(
                _("The expiry time must be later than the accrual time."),
                details={"expires_at": expires_at.isoformat(), "accrued_at": at.isoformat()},
            )
        return expires_at
    days = _programme("DEFAULT_LOT_LIFETIME_DAYS") if lifetime_days is None else lifetime_days
    if isinstance(days, bool) or not isinstance(days, int) or not 0 < days <= MAX_LIFETIME_DAYS:
        raise InvalidDates(
            _("The lifetime must be between 1 and %(max)d days.") % {"max": MAX_LIFETIME_DAYS},
            details={"lifetime_days": days},
        )
    return clock.end_of_day(clock.local_date(at) + timedelta(days=days))


def _activation(at: datetime, pending_until: datetime | None, expires_at: datetime) -> datetime:
    if pending_until is None:
        return at
    pending_until = clock.make_aware(pending_until)
    if pending_until >= expires_at:
        raise InvalidDates(
            _("Points cannot become spendable after they expire."),
            details={"pending_until": pending_until.isoformat(), "expires_at": expires_at.isoformat()},
        )
    return max(pending_until, at)


# --- idempotency and locking --------------------------------------------------------------------------------------


def _fingerprint(operation: str, **params) -> str:
    canonical = json.dumps({"op": operation, **params}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replayed(model, key: str, fingerprint: str):
    """The earlier result for this key, or None; a key used for a different request is refused."""
    existing = model.objects.filter(idempotency_key=key).first()
    if existing is None:
        return None
    if existing.fingerprint != fingerprint:
        raise IdempotencyKeyReused(details={"key": key})
    return existing


def _write(fn):
    """Run a write in one transaction; a key taken concurrently by another member's request is refused, not a 500."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            with transaction.atomic():
                return fn(*args, **kwargs)
        except IntegrityError:
            key = kwargs.get("idempotency_key")
            if key and (
                Entry.objects.filter(idempotency_key=key).exists() or Hold.objects.filter(idempotency_key=key).exists()
            ):
                raise IdempotencyKeyReused(details={"key": key}) from None
            raise

    return wrapper


def _idempotent(key: str, fingerprint: str, write):
    """Run `write()` in one transaction and return its entry.

    `write` learns of an earlier request with the same key when it locks the account (`_lock_account`). When another
    request with the key commits while this one waits for the lock, the insert of our entry breaks the key's unique
    index (or, for a spend, the points may no longer suffice): the transaction is rolled back and the request is
    answered as a replay — the first entry, or IdempotencyKeyReused when that one was for another request."""
    try:
        with transaction.atomic():
            return write()
    except (IntegrityError, InsufficientPoints):
        if (done := _replayed(Entry, key, fingerprint)) is not None:
            return done
        raise


_LOCK_SQL = f"""
SELECT a.id, a.balance, a.held, m.status, r.id, r.fingerprint
FROM {Account._meta.db_table} a
JOIN {Member._meta.db_table} m ON m.id = a.member_id
LEFT JOIN {Entry._meta.db_table} r ON r.idempotency_key = %(key)s
WHERE a.member_id = %(member)s
"""


def _lock_account(
    member_id: int, key: str | None = None, *, spending: tuple[int, datetime, str] | None = None
) -> tuple[Member, Account, tuple[int, str] | None, list[booking.LotState] | None]:
    """Lock the member's account row (creating the account on first use). Always the first lock of a write.

    One statement returns the account, the member's status and — when `key` is given — (id, fingerprint) of the
    entry already booked under that key. That probe reads the snapshot the statement started with; see
    `_idempotent` for a request with the same key committed while this one waited. With `spending` (points, at,
    policy) on PostgreSQL, the lots such a spend can draw from are read by a second statement sent in the same round
    trip, which runs once the lock is granted (so it sees every lot as of then)."""
    lock = " FOR UPDATE OF a" if connection.vendor == "postgresql" else ""  # SQLite: the write transaction locks
    queries = [(_LOCK_SQL + lock, {"member": member_id, "key": key})]
    if spending is not None and statements.available():
        queries.append(statements.spendable_prefix(member_id, *spending))
    results = statements.run_together(queries)
    if not results[0]:
        _open_account(member_id)
        return _lock_account(member_id, key, spending=spending)
    account_id, balance, held, status, replay_id, replay_fingerprint = results[0][0]
    member = Member.from_db(connection.alias, ["id", "status"], [member_id, status])
    account = Account.from_db(
        connection.alias, ["id", "member_id", "balance", "held"], [account_id, member_id, balance, held]
    )
    lots = [booking.LotState(*row) for row in results[1]] if len(results) > 1 else None
    return member, account, None if replay_id is None else (replay_id, replay_fingerprint), lots


def _open_account(member_id: int) -> None:
    """Create the member's account unless it exists (or a concurrent first write creates it)."""
    if not Member.objects.filter(pk=member_id).exists():
        raise NotFound(_("No such member."), code="member_not_found", details={"member_id": member_id})
    try:
        with transaction.atomic():
            Account.objects.create(member_id=member_id)
    except IntegrityError:
        pass  # created by a concurrent first write


def _replay(replay: tuple[int, str], key: str, fingerprint: str) -> Entry:
    """The entry booked earlier under `key`; IdempotencyKeyReused when it answered another request."""
    entry_id, first_fingerprint = replay
    if first_fingerprint != fingerprint:
        raise IdempotencyKeyReused(details={"key": key})
    return Entry.objects.get(pk=entry_id)


def _lock_lots(lot_ids: list[int]) -> None:
    """Lock these lots in id order (after the account: the ledger's lock order)."""
    list(Lot.objects.select_for_update().filter(pk__in=lot_ids).order_by("id").values_list("id", flat=True))


def _require_active(member: Member) -> None:
    if not member.can_earn_or_spend:
        raise MemberCannotEarnOrSpend(details={"member_id": member.pk, "status": member.status})


def _lot_states(account: Account, *, lot_ids=None) -> list[booking.LotState]:
    """The account's lots that have free points (or the given ones), in id order.

    Read without row locks: every write to a lot happens under its account's lock, which the caller holds, so these
    rows cannot change before the caller's transaction ends. Lots are then written in id order."""
    query = Lot.objects.filter(account_id=account.pk)
    if lot_ids is None:
        query = query.filter(spendable=True, is_debt=False)
    else:
        query = query.filter(pk__in=lot_ids)
    rows = query.order_by("id").values_list(
        "id", "category__redemption_rank", "accrued_at", "activates_at", "expires_at", "remaining", "held"
    )
    return [booking.LotState(*row) for row in rows]


# --- booking primitives -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    actor: str
    at: datetime
    now: datetime
    source: Source
    reason_code: str = ""
    comment: str = ""


def _new_entry(account: Account, kind: str, amount: int, ctx: _Context, **fields) -> Entry:
    """An entry of `ctx` (who, when, why, source) for `account`, whose `balance` is already the balance after it."""
    return Entry(
        account=account, kind=kind, amount=amount, balance_after=account.balance, source_kind=ctx.source.kind,
        source_ref=ctx.source.ref, reason_code=ctx.reason_code, comment=ctx.comment, actor=ctx.actor,
        effective_at=ctx.at, created_at=ctx.now, **fields,
    )


def _book(
    account: Account,
    kind: str,
    amount: int,
    ctx: _Context,
    *,
    lot: Lot | None = None,
    moves: list[tuple[int, int]] = (),
    hold: Hold | None = None,
    reverses: Entry | None = None,
    idempotency_key: str | None = None,
    fingerprint: str = "",
    details: dict | None = None,
) -> Entry:
    """Append one entry and apply it: to `lot` directly, or through `moves` [(lot id, delta)] as allocations.

    The caller holds the account lock. The entry, its allocations, the lot remainders and the balance snapshot are
    written together; the returned entry is the row as stored."""
    account.balance += amount
    entry = _new_entry(account, kind, amount, ctx, lot=lot, hold=hold, reverses=reverses, details=details,
                       idempotency_key=idempotency_key, fingerprint=fingerprint)
    if statements.available():
        entry.pk = statements.book(_entry_row(entry), list(moves))
        _mark_stored(entry)
        return entry
    entry.save(force_insert=True)
    if lot is not None and amount:
        Lot.objects.filter(pk=lot.pk).update(remaining=F("remaining") + amount)
    if moves:
        Allocation.objects.bulk_create([Allocation(entry=entry, lot_id=lot_id, amount=n) for lot_id, n in moves])
        for lot_id, delta in sorted(moves):
            Lot.objects.filter(pk=lot_id).update(remaining=F("remaining") + delta)
    Account.objects.filter(pk=account.pk).update(balance=account.balance, updated_at=ctx.now)
    return entry


def _entry_row(entry: Entry) -> statements.EntryRow:
    return statements.EntryRow(
        account=entry.account_id, kind=entry.kind, amount=entry.amount, balance=entry.balance_after,
        source_kind=entry.source_kind, source_ref=entry.source_ref, reason_code=entry.reason_code,
        comment=entry.comment, actor=entry.actor, at=entry.effective_at, now=entry.created_at, lot=entry.lot_id,
        hold=entry.hold_id, reverses=entry.reverses_id, details=entry.details, key=entry.idempotency_key,
        fingerprint=entry.fingerprint,
    )


def _mark_stored(instance) -> None:
    """Tell Django that an instance built in Python is the row just inserted with its pk."""
    instance._state.adding = False
    instance._state.db = connection.alias


def _credit(
    account: Account,
    kind: str,
    points: int,
    ctx: _Context,
    *,
    category: reference.Category,
    expires_at: datetime,
    activates_at: datetime,
    key: str,
    fingerprint: str,
) -> Entry:
    """A new lot, created holding `points`, with its accrual entry; the account's debts are settled from it at once."""
    account.balance += points
    lot, entry = _accrual_rows(account, kind, points, ctx, category=category, expires_at=expires_at,
                               activates_at=activates_at, key=key, fingerprint=fingerprint)
    if statements.available():
        entry.pk, lot.pk, has_debts = statements.credit(
            _entry_row(entry), category=category.id, activates_at=lot.activates_at, expires_at=lot.expires_at
        )
        _mark_stored(lot)
        _mark_stored(entry)
        entry.lot = lot
    else:
        lot.save(force_insert=True)
        entry.lot = lot
        entry.save(force_insert=True)
        Account.objects.filter(pk=account.pk).update(balance=account.balance, updated_at=ctx.now)
        has_debts = True  # the query in _settle_debts tells
    if has_debts:
        _settle_debts(account, entry, ctx)
    return entry


def _accrual_rows(
    account: Account,
    kind: str,
    points: int,
    ctx: _Context,
    *,
    category: reference.Category,
    expires_at: datetime,
    activates_at: datetime,
    key: str,
    fingerprint: str,
) -> tuple[Lot, Entry]:
    """The lot of an accrual, created full, and its entry; `account.balance` is already the balance after it."""
    lot = Lot(
        account=account,
        category_id=category.id,
        source_kind=ctx.source.kind,
        source_ref=ctx.source.ref,
        amount=points,
        remaining=points,
        held=0,
        accrued_at=ctx.at,
        activates_at=activates_at.astimezone(UTC),
        expires_at=expires_at.astimezone(UTC),
        is_debt=False,
    )
    return lot, _new_entry(account, kind, points, ctx, idempotency_key=key, fingerprint=fingerprint)


def _settle_debts(account: Account, entry: Entry, ctx: _Context) -> None:
    """Pay the account's debt lots, oldest first, out of the lot `entry` just accrued; refreshes that lot."""
    debts = list(
        Lot.objects.select_for_update().filter(account=account, is_debt=True, remaining__lt=0).order_by("id")
    )
    paid = booking.plan_settlement([(debt.pk, -debt.remaining) for debt in debts], entry.amount)
    if not paid:
        return
    total = sum(amount for _, amount in paid)
    moves = [(entry.lot_id, -total)] + paid
    _book(account, Entry.Kind.SETTLEMENT, 0, ctx, moves=moves, reverses=entry, details={"settled": total})
    entry.lot.refresh_from_db()


def _debit(
    account: Account,
    kind: str,
    points: int,
    ctx: _Context,
    *,
    key: str,
    fingerprint: str,
    policy: str,
    lots: list[booking.LotState] | None = None,
) -> Entry:
    """Draw `points` from the account's spendable lots in the `policy` order, one allocation per lot drawn from.

    `lots`, when given, are the spendable lots read under the account lock (at least those the plan can draw)."""
    if lots is None:
        lots = _lot_states(account)
    plan = booking.plan_spend(lots, points, ctx.at, policy)
    return _book(
        account,
        kind,
        -points,
        ctx,
        moves=[(lot_id, -drawn) for lot_id, drawn in plan],
        idempotency_key=key,
        fingerprint=fingerprint,
        details={"redemption_order": policy},
    )


def _debt_lot(account: Account, ctx: _Context) -> Lot:
    debt = Lot.objects.select_for_update().filter(account=account, is_debt=True).order_by("id").first()
    if debt is None:
        debt = Lot.objects.create(
            account=account,
            category_id=reference.category(reference.DEBT).id,
            source_kind="debt",
            amount=0,
            remaining=0,
            accrued_at=ctx.at,
            activates_at=ctx.at,
            is_debt=True,
        )
    return debt


def _context(actor: str, at: datetime | None, source: Source, reason_code: str = "", comment: str = "") -> _Context:
    if not actor:
        raise ValidationFailed(_("Every change must name who made it."), code="actor_required")
    now = clock.now().astimezone(UTC)  # instances built in Python carry times as the database returns them
    return _Context(
        actor=actor,
        at=clock.make_aware(at).astimezone(UTC) if at else now,
        now=now,
        source=source,
        reason_code=reason_code,
        comment=comment or "",
    )


def _redemption_order(policy: str | None) -> str:
    policy = policy or _programme("REDEMPTION_ORDER")
    if policy not in booking.REDEMPTION_ORDERS:
        raise ValidationFailed(
            _("Unknown redemption order."),
            code="unknown_redemption_order",
            details={"redemption_order": policy, "known": list(booking.REDEMPTION_ORDERS)},
        )
    return policy


# --- one call on PostgreSQL ---------------------------------------------------------------------------------------


def _at_once(call, params: dict, member_id: int, key: str, fingerprint: str) -> statements.AtOnce | Entry | None:
    """Run a booking function: its answer when it booked, the earlier entry when the key was used already, the
    Python path's error when it refused, None when the Python path must decide.

    Outside a transaction the call is one by itself (one round trip); inside one, a savepoint keeps a refused key
    from aborting the caller's work. A concurrent request with the same key shows as a broken unique index (or too
    few points after its spend) and is answered as a replay, as `_idempotent` does."""
    try:
        if connection.in_atomic_block:
            with transaction.atomic():
                result = call(params)
        else:
            result = call(params)
    except IntegrityError:
        if (done := _replayed(Entry, key, fingerprint)) is not None:
            return done
        raise
    if result.outcome == "ok":
        return result
    if result.outcome == "replay":
        return _replay((result.entry_id, result.detail), key, fingerprint)
    if result.outcome == "inactive":
        raise MemberCannotEarnOrSpend(details={"member_id": member_id, "status": result.detail})
    if result.outcome == "insufficient":
        if (done := _replayed(Entry, key, fingerprint)) is not None:
            return done
        raise InsufficientPoints(details={"requested": params["points"], "available": int(result.detail)})
    return None


def _booked_account(result: statements.AtOnce, member_id: int) -> Account:
    return Account.from_db(connection.alias, ["id", "member_id", "balance"],
                           [result.account_id, member_id, result.balance_after])


def _spend_at_once(member_id: int, points: int, ctx: _Context, key: str, fingerprint: str, policy: str):
    params = _params_at_once(member_id, points, ctx, key, fingerprint) | {
        "policy": policy, "ranks": reference.by_rank(),
    }
    result = _at_once(statements.spend_at_once, params, member_id, key, fingerprint)
    if not isinstance(result, statements.AtOnce):
        return result
    entry = _new_entry(_booked_account(result, member_id), Entry.Kind.SPEND, -points, ctx,
                       details={"redemption_order": policy}, idempotency_key=key, fingerprint=fingerprint)
    entry.pk = result.entry_id
    _mark_stored(entry)
    return entry


def _accrue_at_once(member_id: int, points: int, ctx: _Context, key: str, fingerprint: str, **lot) -> Entry | None:
    params = _params_at_once(member_id, points, ctx, key, fingerprint) | {
        "category": lot["category"].id, "kind": Entry.Kind.ACCRUAL, "activates_at": lot["activates_at"],
        "expires_at": lot["expires_at"],
    }
    result = _at_once(statements.accrue_at_once, params, member_id, key, fingerprint)
    if not isinstance(result, statements.AtOnce):
        return result
    booked, entry = _accrual_rows(_booked_account(result, member_id), Entry.Kind.ACCRUAL, points, ctx,
                                  key=key, fingerprint=fingerprint, **lot)
    booked.pk, entry.pk = result.lot_id, result.entry_id
    _mark_stored(booked)
    _mark_stored(entry)
    entry.lot = booked
    return entry


def _params_at_once(member_id: int, points: int, ctx: _Context, key: str, fingerprint: str) -> dict:
    return {
        "member": member_id, "points": points, "at": ctx.at, "now": ctx.now, "key": key, "fingerprint": fingerprint,
        "source_kind": ctx.source.kind, "source_ref": ctx.source.ref, "reason_code": ctx.reason_code,
        "comment": ctx.comment, "actor": ctx.actor,
    }


# --- the writes ---------------------------------------------------------------------------------------------------


def accrue(
    *,
    member_id: int,
    points: int,
    actor: str,
    idempotency_key: str,
    category: str = "base",
    source: Source = Source(),
    expires_at: datetime | None = None,
    lifetime_days: int | None = None,
    pending_until: datetime | None = None,
    reason_code: str = "",
    comment: str = "",
    at: datetime | None = None,
) -> Entry:
    """Credit `points` as a new lot. Pending points become spendable at `pending_until`."""
    points = _check_points(points)
    key = _check_key(idempotency_key)
    ctx = _context(actor, at, source, _check_reason(reason_code, required=False), comment)
    lot_category = _category(category)
    expiry = _expiry(ctx.at, expires_at, lifetime_days)
    activates_at = _activation(ctx.at, pending_until, expiry)
    fingerprint = _fingerprint(
        "accrue", member=member_id, points=points, category=category, source=source, expires_at=expires_at,
        lifetime_days=lifetime_days, pending_until=pending_until, reason=ctx.reason_code, at=at,
    )

    def write() -> Entry:
        member, account, replay, _lots = _lock_account(member_id, key)
        if replay is not None:
            return _replay(replay, key, fingerprint)
        _require_active(member)
        return _credit(
            account, Entry.Kind.ACCRUAL, points, ctx, category=lot_category, expires_at=expiry,
            activates_at=activates_at, key=key, fingerprint=fingerprint,
        )

    if statements.available() and (
        entry := _accrue_at_once(member_id, points, ctx, key, fingerprint, category=lot_category,
                                 expires_at=expiry, activates_at=activates_at)
    ):
        return entry
    return _idempotent(key, fingerprint, write)


def spend(
    *,
    member_id: int,
    points: int,
    actor: str,
    idempotency_key: str,
    source: Source = Source(),
    reason_code: str = "",
    comment: str = "",
    redemption_order: str | None = None,
    at: datetime | None = None,
) -> Entry:
    """Debit `points` from the spendable lots in the redemption order; all or nothing."""
    points = _check_points(points)
    key = _check_key(idempotency_key)
    policy = _redemption_order(redemption_order)
    ctx = _context(actor, at, source, _check_reason(reason_code, required=False), comment)
    fingerprint = _fingerprint("spend", member=member_id, points=points, source=source, policy=policy, at=at)

    def write() -> Entry:
        member, account, replay, lots = _lock_account(member_id, key, spending=(points, ctx.at, policy))
        if replay is not None:
            return _replay(replay, key, fingerprint)
        _require_active(member)
        return _debit(
            account, Entry.Kind.SPEND, points, ctx, key=key, fingerprint=fingerprint, policy=policy, lots=lots
        )

    if statements.available() and (entry := _spend_at_once(member_id, points, ctx, key, fingerprint, policy)):
        return entry
    return _idempotent(key, fingerprint, write)


def adjust(
    *,
    member_id: int,
    points: int,
    reason_code: str,
    actor: str,
    idempotency_key: str,
    comment: str = "",
    category: str = "compensation",
    expires_at: datetime | None = None,
    lifetime_days: int | None = None,
    at: datetime | None = None,
) -> Entry:
    """A manual correction with a reason code: positive adds a lot, negative draws like a spend.

    A blocked member can be corrected downwards (e.g. fraud) but earns nothing.
    """
    points = _check_points(points, allow_negative=True)
    key = _check_key(idempotency_key)
    ctx = _context(actor, at, Source("manual"), _check_reason(reason_code, required=True), comment)
    if points > 0:
        lot_category = _category(category)
        expiry = _expiry(ctx.at, expires_at, lifetime_days)
    else:
        lot_category, expiry = None, None
    fingerprint = _fingerprint(
        "adjust", member=member_id, points=points, reason=reason_code, category=category, expires_at=expires_at,
        lifetime_days=lifetime_days, at=at,
    )

    def write() -> Entry:
        member, account, replay, _lots = _lock_account(member_id, key)
        if replay is not None:
            return _replay(replay, key, fingerprint)
        if points > 0:
            _require_active(member)
            return _credit(
                account, Entry.Kind.ADJUSTMENT, points, ctx, category=lot_category, expires_at=expiry,
                activates_at=ctx.at, key=key, fingerprint=fingerprint,
            )
        policy = _redemption_order(None)
        return _debit(account, Entry.Kind.ADJUSTMENT, -points, ctx, key=key, fingerprint=fingerprint, policy=policy)

    return _idempotent(key, fingerprint, write)


def burn_lot(
    *, lot_id: int, reason_code: str, actor: str, idempotency_key: str, comment: str = "", at: datetime | None = None
) -> Entry:
    """Burn the free points of one lot now, by a person's decision with a reason code: one expiry entry booked on
    the lot. Points that holds reserve stay; a lot with nothing free is refused."""
    key = _check_key(idempotency_key)
    ctx = _context(actor, at, Source("manual"), _check_reason(reason_code, required=True), comment)
    member_id = Lot.objects.filter(pk=lot_id, is_debt=False).values_list("account__member_id", flat=True).first()
    if member_id is None:
        raise ValidationFailed(_("No such lot."), code="lot_not_found", details={"lot_id": lot_id})
    fingerprint = _fingerprint("burn", lot=lot_id, reason=ctx.reason_code, at=at)

    def write() -> Entry:
        _member, account, replay, _lots = _lock_account(member_id, key)
        if replay is not None:
            return _replay(replay, key, fingerprint)
        lot = Lot.objects.get(pk=lot_id)
        free = lot.remaining - lot.held
        if free <= 0:
            raise ValidationFailed(_("The lot has no free points to burn."), code="nothing_to_burn",
                                   details={"lot_id": lot_id})
        return _book(account, Entry.Kind.EXPIRY, -free, ctx, lot=lot, idempotency_key=key, fingerprint=fingerprint)

    return _idempotent(key, fingerprint, write)


@_write
def hold(
    *,
    member_id: int,
    points: int,
    actor: str,
    idempotency_key: str,
    source: Source = Source(),
    ttl_seconds: int | None = None,
    redemption_order: str | None = None,
    lots: dict[int, int] | None = None,
    at: datetime | None = None,
) -> Hold:
    """Reserve `points` in specific lots until capture, release or `ttl_seconds`: the lots given as
    {lot id: points} (a cart's plan), or else lots chosen in redemption order."""
    points = _check_points(points)
    key = _check_key(idempotency_key)
    policy = _redemption_order(redemption_order)
    ttl = _programme("HOLD_TTL_SECONDS") if ttl_seconds is None else ttl_seconds
    if isinstance(ttl, bool) or not isinstance(ttl, int) or not 0 < ttl <= 7 * 24 * 3600:
        raise InvalidDates(_("A hold lives from 1 second to 7 days."), details={"ttl_seconds": ttl})
    ctx = _context(actor, at, source)
    chosen = sorted(lots.items()) if lots else None
    fingerprint = _fingerprint(
        "hold", member=member_id, points=points, source=source, ttl=ttl, policy=policy, lots=chosen
    )
    member, account = _lock_account(member_id)[:2]
    if (done := _replayed(Hold, key, fingerprint)) is not None:
        return done
    _require_active(member)
    if chosen is None:
        plan = booking.plan_spend(_lot_states(account), points, ctx.at, policy)
    else:
        states = _lot_states(account, lot_ids=[lot_id for lot_id, _n in chosen])
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
    for lot_id, n in sorted(plan):
        Lot.objects.filter(pk=lot_id).update(held=F("held") + n)
    Account.objects.filter(pk=account.pk).update(held=F("held") + points, updated_at=ctx.now)
    return reserved


def _locked_hold(hold_id: int) -> tuple[Member, Account, Hold]:
    account_id = Hold.objects.filter(pk=hold_id).values_list("account_id", flat=True).first()
    if account_id is None:
        raise HoldNotFound(details={"hold_id": hold_id})
    member_id = Account.objects.filter(pk=account_id).values_list("member_id", flat=True).get()
    member, account = _lock_account(member_id)[:2]
    return member, account, Hold.objects.select_for_update().get(pk=hold_id)


def _end_hold(account: Account, reserved: Hold, status: str, ctx: _Context) -> None:
    """Give back every reserved point of the hold's lots and close it with `status`."""
    for line in reserved.lines.all():
        Lot.objects.filter(pk=line.lot_id).update(held=F("held") - line.amount)
    Account.objects.filter(pk=account.pk).update(held=F("held") - reserved.amount, updated_at=ctx.now)
    reserved.status = status
    reserved.closed_at = ctx.now
    reserved.closed_by = ctx.actor
    reserved.save(update_fields=["status", "closed_at", "closed_by"])


@_write
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
    key = _check_key(idempotency_key)
    fingerprint = _fingerprint("capture", hold=hold_id, points=points)
    member, account, reserved = _locked_hold(hold_id)
    if (done := _replayed(Entry, key, fingerprint)) is not None:
        return done
    ctx = _context(actor, at, Source(reserved.source_kind, reserved.source_ref), comment=comment)
    if reserved.status != Hold.Status.ACTIVE or reserved.expires_at <= ctx.now:
        raise HoldNotActive(details={"hold_id": hold_id, "status": reserved.status})
    _require_active(member)
    points = reserved.amount if points is None else _check_points(points)
    if points > reserved.amount:
        raise InvalidPoints(
            _("Cannot capture more than the %(held)d points held.") % {"held": reserved.amount},
            details={"points": points, "held": reserved.amount},
        )
    lines = list(reserved.lines.order_by("id"))
    _lock_lots([line.lot_id for line in lines])
    _end_hold(account, reserved, Hold.Status.CAPTURED, ctx)
    moves, left = [], points
    for line in lines:
        take = min(line.amount, left)
        if take:
            moves.append((line.lot_id, -take))
            left -= take
    return _book(
        account, Entry.Kind.SPEND, -points, ctx, moves=moves, hold=reserved, idempotency_key=key,
        fingerprint=fingerprint, details={"held": reserved.amount},
    )


@_write
def release(*, hold_id: int, actor: str, at: datetime | None = None) -> Hold:
    """End a hold without spending. Releasing a hold that already ended is a no-op; a captured one is refused."""
    _member, account, reserved = _locked_hold(hold_id)
    if reserved.status == Hold.Status.CAPTURED:
        raise HoldNotActive(details={"hold_id": hold_id, "status": reserved.status})
    if reserved.status == Hold.Status.ACTIVE:
        _end_hold(account, reserved, Hold.Status.RELEASED, _context(actor, at, Source()))
    return reserved


def end_expired_hold(hold_id: int, actor: str = "system:holds") -> bool:
    """Close one timed-out hold; False when it had already ended."""
    with transaction.atomic():
        _member, account, reserved = _locked_hold(hold_id)
        ctx = _context(actor, None, Source())
        if reserved.status != Hold.Status.ACTIVE or reserved.expires_at > ctx.now:
            return False
        _end_hold(account, reserved, Hold.Status.EXPIRED, ctx)
        return True


def _reversed_so_far(entry: Entry) -> int:
    """Points of an accrual already dealt with by reversals: taken back, booked as debt, or forgiven."""
    total = 0
    for amount, details in entry.reversals.filter(kind=Entry.Kind.REVERSAL).values_list("amount", "details"):
        total += -amount + int((details or {}).get("forgiven", 0))
    return total


def _return_policy(policy: str | None) -> str:
    policy = policy or _programme("RETURN_POLICY")
    if policy not in booking.RETURN_POLICIES:
        raise ValidationFailed(
            _("Unknown return policy."),
            code="unknown_return_policy",
            details={"policy": policy, "known": list(booking.RETURN_POLICIES)},
        )
    return policy


def _entry(entry_id: int) -> Entry:
    entry = Entry.objects.filter(pk=entry_id).select_related("account").first()
    if entry is None:
        raise EntryNotFound(details={"entry_id": entry_id})
    return entry


@_write
def reverse_accrual(
    *,
    entry_id: int,
    actor: str,
    idempotency_key: str,
    points: int | None = None,
    reason_code: str = "",
    comment: str = "",
    policy: str | None = None,
    at: datetime | None = None,
) -> Entry:
    """Take back (part of) an accrual. Points of it already spent are handled by the return policy:
    "negative" books them as a debt, "take_available" forgives them, "block" refuses the reversal."""
    key = _check_key(idempotency_key)
    policy = _return_policy(policy)
    original = _entry(entry_id)
    if original.lot_id is None or original.amount <= 0 or original.kind not in (Entry.Kind.ACCRUAL, Entry.Kind.ADJUSTMENT):
        raise ValidationFailed(
            _("Only an accrual can be reversed."), code="not_an_accrual", details={"entry_id": entry_id}
        )
    ctx = _context(
        actor, at, Source(original.source_kind, original.source_ref), _check_reason(reason_code, required=False), comment
    )
    fingerprint = _fingerprint("reverse", entry=entry_id, points=points, policy=policy)
    account = _lock_account(original.account.member_id)[1]
    if (done := _replayed(Entry, key, fingerprint)) is not None:
        return done
    left = original.amount - _reversed_so_far(original)
    wanted = left if points is None else _check_points(points)
    if left <= 0:
        raise NothingToReverse(details={"entry_id": entry_id})
    if wanted > left:
        raise InvalidPoints(
            _("Only %(left)d points of this accrual are left to reverse.") % {"left": left},
            details={"points": wanted, "left": left},
        )
    lot = Lot.objects.select_for_update().get(pk=original.lot_id)
    outcome = booking.plan_take_back(lot.remaining - lot.held, wanted, policy)
    if outcome is None:
        raise PointsAlreadySpent(details={"entry_id": entry_id, "wanted": wanted, "left_in_lot": lot.remaining - lot.held})
    details = {"policy": policy, "wanted": wanted, "forgiven": outcome.forgiven, "debt": outcome.debt}
    common = {"reverses": original, "idempotency_key": key, "fingerprint": fingerprint, "details": details}
    amount = -(outcome.taken + outcome.debt)
    if outcome.debt:
        moves = [(lot.pk, -outcome.taken)] if outcome.taken else []
        moves.append((_debt_lot(account, ctx).pk, -outcome.debt))
        return _book(account, Entry.Kind.REVERSAL, amount, ctx, moves=moves, **common)
    return _book(account, Entry.Kind.REVERSAL, amount, ctx, lot=lot, **common)


@_write
def restore_spend(
    *,
    entry_id: int,
    actor: str,
    idempotency_key: str,
    points: int | None = None,
    reason_code: str = "return",
    comment: str = "",
    at: datetime | None = None,
) -> Entry:
    """Give back (part of) a spend into the very lots it drew from, last drawn first, with their original expiry.

    Points returned into a lot that has meanwhile expired burn at the next expiry run."""
    key = _check_key(idempotency_key)
    original = _entry(entry_id)
    if original.amount >= 0 or original.kind not in (Entry.Kind.SPEND, Entry.Kind.ADJUSTMENT):
        raise ValidationFailed(_("Only a spending can be returned."), code="not_a_spend", details={"entry_id": entry_id})
    ctx = _context(
        actor, at, Source(original.source_kind, original.source_ref), _check_reason(reason_code, required=False), comment
    )
    fingerprint = _fingerprint("restore", entry=entry_id, points=points)
    account = _lock_account(original.account.member_id)[1]
    if (done := _replayed(Entry, key, fingerprint)) is not None:
        return done
    drawn = [(lot_id, -amount) for lot_id, amount in original.allocations.order_by("id").values_list("lot_id", "amount")]
    restored: dict[int, int] = {}
    for lot_id, amount in Allocation.objects.filter(
        entry__reverses=original, entry__kind=Entry.Kind.RESTORE
    ).values_list("lot_id", "amount"):
        restored[lot_id] = restored.get(lot_id, 0) + amount
    left = sum(n for _, n in drawn) - sum(restored.values())
    if left <= 0:
        raise NothingToReverse(details={"entry_id": entry_id})
    wanted = left if points is None else _check_points(points)
    if wanted > left:
        raise InvalidPoints(
            _("Only %(left)d points of this spending are left to return.") % {"left": left},
            details={"points": wanted, "left": left},
        )
    plan = booking.plan_restore(drawn, restored, wanted)
    _lock_lots([lot_id for lot_id, _n in plan])
    return _book(
        account, Entry.Kind.RESTORE, wanted, ctx, moves=list(plan),
        reverses=original, idempotency_key=key, fingerprint=fingerprint,
    )
