"""Accruals: points credited to a member as a new lot (with its category, activation and expiry time).

A new lot first settles the member's debt lots, oldest first. On PostgreSQL an accrual is one call of a
database function when the member has an account and no debts; otherwise the Python path books it.
`accrue_many` books several accruals of one member (a purchase's campaigns) by one call, each exactly as
`accrue` would, with the same keys and fingerprints; what that call leaves it books one by one.

An accrual may carry `details`, facts its caller wants kept with the entry (a campaign's grant keeps the points its
rule wanted before a budget or a limit cut them: {"desired": 120}). The ledger stores them and reads nothing in
them; they are not part of the request's fingerprint, which names what is booked.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from kopilka.ledger import statements
from kopilka.ledger._bookkeeping import credit
from kopilka.ledger._inputs import (
    MANUAL,
    CheckedAccrual,
    Context,
    Source,
    activation_time,
    check_category,
    check_key,
    check_points,
    check_reason,
    context,
    expiry_time,
)
from kopilka.ledger._locking import fingerprint_of, idempotent, lock_account, replay_entry, require_active
from kopilka.ledger._one_call import accrue_at_once, accrue_many_at_once
from kopilka.ledger.models import Entry


@dataclass(frozen=True)
class Accrual:
    """One accrual of `accrue_many`: `accrue`'s arguments that may differ between a purchase's accruals."""

    points: int
    idempotency_key: str
    category: str = "base"
    source: Source = MANUAL
    expires_at: datetime | None = None
    lifetime_days: int | None = None
    pending_until: datetime | None = None
    details: dict | None = None  # kept in the entry's `details`, as given


def _checked(member_id: int, accrual: Accrual, ctx: Context, at: datetime | None) -> CheckedAccrual:
    """The accrual checked (nothing locked yet) as it will be booked, with its key's fingerprint."""
    points = check_points(accrual.points)
    key = check_key(accrual.idempotency_key)
    category = check_category(accrual.category)
    ctx = Context(ctx.actor, ctx.at, ctx.now, accrual.source, ctx.reason_code, ctx.comment)
    expiry = expiry_time(ctx.at, accrual.expires_at, accrual.lifetime_days)
    fingerprint = fingerprint_of(
        "accrue", member=member_id, points=points, category=accrual.category, source=accrual.source,
        expires_at=accrual.expires_at, lifetime_days=accrual.lifetime_days, pending_until=accrual.pending_until,
        reason=ctx.reason_code, at=at,
    )
    activates_at = activation_time(ctx.at, accrual.pending_until, expiry)
    return CheckedAccrual(points, key, fingerprint, ctx, category, activates_at, expiry, accrual.details)


def accrue(
    *,
    member_id: int,
    points: int,
    actor: str,
    idempotency_key: str,
    category: str = "base",
    source: Source = MANUAL,
    expires_at: datetime | None = None,
    lifetime_days: int | None = None,
    pending_until: datetime | None = None,
    reason_code: str = "",
    comment: str = "",
    at: datetime | None = None,
) -> Entry:
    """Credit `points` as a new lot. Pending points become spendable at `pending_until`."""
    accrual = Accrual(points, idempotency_key, category, source, expires_at, lifetime_days, pending_until)
    check_points(points)
    check_key(idempotency_key)  # the points and the key are checked before the context, the rest after it
    ctx = context(actor, at, source, check_reason(reason_code, required=False), comment)
    return _book(member_id, _checked(member_id, accrual, ctx, at))


def _book(member_id: int, one: CheckedAccrual) -> Entry:
    """Book one checked accrual: by one call of the database function where it applies, else the Python path."""

    def write() -> Entry:
        member, account, replay, _lots = lock_account(member_id, one.key)
        if replay is not None:
            return replay_entry(replay, one.key, one.fingerprint)
        require_active(member)
        return credit(
            account, Entry.Kind.ACCRUAL, one.points, one.ctx, category=one.category, expires_at=one.expires_at,
            activates_at=one.activates_at, key=one.key, fingerprint=one.fingerprint, details=one.details,
        )

    if statements.available() and (
        entry := accrue_at_once(member_id, one.points, one.ctx, one.key, one.fingerprint, category=one.category,
                                 expires_at=one.expires_at, activates_at=one.activates_at, details=one.details)
    ):
        return entry
    return idempotent(one.key, one.fingerprint, write)


def accrue_many(
    *,
    member_id: int,
    accruals: Sequence[Accrual],
    actor: str,
    reason_code: str = "",
    comment: str = "",
    at: datetime | None = None,
) -> list[Entry]:
    """Credit each accrual as `accrue(member_id=..., actor=..., at=..., **accrual)` would, in order; returns their
    entries. Every accrual is checked before any is booked."""
    ctx = context(actor, at, MANUAL, check_reason(reason_code, required=False), comment)
    checked = [_checked(member_id, accrual, ctx, at) for accrual in accruals]
    booked = accrue_many_at_once(member_id, checked) if statements.available() and len(checked) > 1 else []
    return booked + [_book(member_id, one) for one in checked[len(booked):]]

