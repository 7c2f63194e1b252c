"""Manual corrections with a reason code: `adjust` (a positive one adds a lot, a negative one draws like a
spend) and `burn_lot` (burn one lot's free points now).
"""

from datetime import datetime

from django.utils.translation import gettext_lazy as _

from kopilka.core.errors import ValidationFailed
from kopilka.ledger._bookkeeping import book, credit, debit
from kopilka.ledger._inputs import (
    Source,
    check_category,
    check_key,
    check_points,
    check_reason,
    check_redemption_order,
    context,
    expiry_time,
)
from kopilka.ledger._locking import fingerprint_of, idempotent, lock_account, replay_entry, require_active
from kopilka.ledger.models import Entry, Lot


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
    points = check_points(points, allow_negative=True)
    key = check_key(idempotency_key)
    ctx = context(actor, at, Source("manual"), check_reason(reason_code, required=True), comment)
    if points > 0:
        lot_category = check_category(category)
        expiry = expiry_time(ctx.at, expires_at, lifetime_days)
    else:
        lot_category, expiry = None, None
    fingerprint = fingerprint_of(
        "adjust", member=member_id, points=points, reason=reason_code, category=category, expires_at=expires_at,
        lifetime_days=lifetime_days, at=at,
    )

    def write() -> Entry:
        member, account, replay, _lots = lock_account(member_id, key)
        if replay is not None:
            return replay_entry(replay, key, fingerprint)
        if points > 0:
            assert lot_category is not None and expiry is not None  # set above for a positive correction
            require_active(member)
            return credit(
                account, Entry.Kind.ADJUSTMENT, points, ctx, category=lot_category, expires_at=expiry,
                activates_at=ctx.at, key=key, fingerprint=fingerprint,
            )
        policy = check_redemption_order(None)
        return debit(account, Entry.Kind.ADJUSTMENT, -points, ctx, key=key, fingerprint=fingerprint, policy=policy)

    return idempotent(key, fingerprint, write)


def burn_lot(
    *, lot_id: int, reason_code: str, actor: str, idempotency_key: str, comment: str = "", at: datetime | None = None
) -> Entry:
    """Burn the free points of one lot now, by a person's decision with a reason code: one expiry entry booked on
    the lot. Points that holds reserve stay; a lot with nothing free is refused."""
    key = check_key(idempotency_key)
    ctx = context(actor, at, Source("manual"), check_reason(reason_code, required=True), comment)
    member_id = Lot.objects.filter(pk=lot_id, is_debt=False).values_list("account__member_id", flat=True).first()
    if member_id is None:
        raise ValidationFailed(_("No such lot."), code="lot_not_found", details={"lot_id": lot_id})
    fingerprint = fingerprint_of("burn", lot=lot_id, reason=ctx.reason_code, at=at)

    def write() -> Entry:
        _member, account, replay, _lots = lock_account(member_id, key)
        if replay is not None:
            return replay_entry(replay, key, fingerprint)
        lot = Lot.objects.get(pk=lot_id)
        free = lot.remaining - lot.held
        if free <= 0:
            raise ValidationFailed(_("The lot has no free points to burn."), code="nothing_to_burn",
                                   details={"lot_id": lot_id})
        return book(account, Entry.Kind.EXPIRY, -free, ctx, lot=lot, idempotency_key=key, fingerprint=fingerprint)

    return idempotent(key, fingerprint, write)
