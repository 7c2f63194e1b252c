"""Spending: points drawn from the member's spendable lots in the redemption order (`booking.plan_spend`), all
or nothing, one allocation per lot drawn from.

On PostgreSQL a spend is one call of a database function; the Python path reads the candidate lots in the same
round trip as the account lock.
"""

from datetime import datetime

from kopilka.ledger import statements
from kopilka.ledger._bookkeeping import debit
from kopilka.ledger._inputs import (
    MANUAL,
    Source,
    check_key,
    check_points,
    check_reason,
    check_redemption_order,
    context,
)
from kopilka.ledger._locking import fingerprint_of, idempotent, lock_account, replay_entry, require_active
from kopilka.ledger._one_call import spend_at_once
from kopilka.ledger.models import Entry


def spend(
    *,
    member_id: int,
    points: int,
    actor: str,
    idempotency_key: str,
    source: Source = MANUAL,
    reason_code: str = "",
    comment: str = "",
    redemption_order: str | None = None,
    at: datetime | None = None,
) -> Entry:
    """Debit `points` from the spendable lots in the redemption order; all or nothing."""
    points = check_points(points)
    key = check_key(idempotency_key)
    policy = check_redemption_order(redemption_order)
    ctx = context(actor, at, source, check_reason(reason_code, required=False), comment)
    fingerprint = fingerprint_of("spend", member=member_id, points=points, source=source, policy=policy, at=at)

    def write() -> Entry:
        member, account, replay, lots = lock_account(member_id, key, spending=(points, ctx.at, policy))
        if replay is not None:
            return replay_entry(replay, key, fingerprint)
        require_active(member)
        return debit(
            account, Entry.Kind.SPEND, points, ctx, key=key, fingerprint=fingerprint, policy=policy, lots=lots
        )

    if statements.available() and (entry := spend_at_once(member_id, points, ctx, key, fingerprint, policy)):
        return entry
    return idempotent(key, fingerprint, write)
