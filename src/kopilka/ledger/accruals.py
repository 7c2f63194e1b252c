"""Accruals: points credited to a member as a new lot (with its category, activation and expiry time).

A new lot first settles the member's debt lots, oldest first. On PostgreSQL an accrual is one call of a
database function when the member has an account and no debts; otherwise the Python path books it.
"""

from datetime import datetime

from kopilka.ledger import statements
from kopilka.ledger._bookkeeping import credit
from kopilka.ledger._inputs import (
    MANUAL,
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
from kopilka.ledger._one_call import accrue_at_once
from kopilka.ledger.models import Entry


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
    points = check_points(points)
    key = check_key(idempotency_key)
    ctx = context(actor, at, source, check_reason(reason_code, required=False), comment)
    lot_category = check_category(category)
    expiry = expiry_time(ctx.at, expires_at, lifetime_days)
    activates_at = activation_time(ctx.at, pending_until, expiry)
    fingerprint = fingerprint_of(
        "accrue", member=member_id, points=points, category=category, source=source, expires_at=expires_at,
        lifetime_days=lifetime_days, pending_until=pending_until, reason=ctx.reason_code, at=at,
    )

    def write() -> Entry:
        member, account, replay, _lots = lock_account(member_id, key)
        if replay is not None:
            return replay_entry(replay, key, fingerprint)
        require_active(member)
        return credit(
            account, Entry.Kind.ACCRUAL, points, ctx, category=lot_category, expires_at=expiry,
            activates_at=activates_at, key=key, fingerprint=fingerprint,
        )

    if statements.available() and (
        entry := accrue_at_once(member_id, points, ctx, key, fingerprint, category=lot_category,
                                 expires_at=expiry, activates_at=activates_at)
    ):
        return entry
    return idempotent(key, fingerprint, write)
