"""Reversals: taking back (part of) an accrual under the return policy, and giving back (part of) a spend into
the very lots it drew from.

Points of an accrual already spent are handled by the return policy: "negative" books them as a debt lot,
"take_available" forgives them, "block" refuses. A restore gives each lot back at most what the spend drew
from it, last drawn first, with the lot's original expiry.
"""

from datetime import datetime
from typing import Any

from django.utils.translation import gettext_lazy as _

from kopilka.core.errors import ValidationFailed
from kopilka.ledger import booking, reference
from kopilka.ledger._bookkeeping import book
from kopilka.ledger._inputs import (
    Context,
    Source,
    check_key,
    check_points,
    check_reason,
    context,
    programme_value,
)
from kopilka.ledger._locking import atomic_write, earlier_result, fingerprint_of, lock_account, lock_lots
from kopilka.ledger.errors import EntryNotFound, InvalidPoints, NothingToReverse, PointsAlreadySpent
from kopilka.ledger.models import Account, Allocation, Entry, Lot


@atomic_write
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
    key = check_key(idempotency_key)
    policy = _return_policy(policy)
    original = _entry(entry_id)
    if (original.lot_id is None or original.amount <= 0
            or original.kind not in (Entry.Kind.ACCRUAL, Entry.Kind.ADJUSTMENT)):
        raise ValidationFailed(
            _("Only an accrual can be reversed."), code="not_an_accrual", details={"entry_id": entry_id}
        )
    ctx = context(
        actor, at, Source(original.source_kind, original.source_ref), check_reason(reason_code, required=False), comment
    )
    fingerprint = fingerprint_of("reverse", entry=entry_id, points=points, policy=policy)
    account = lock_account(original.account.member_id)[1]
    if (done := earlier_result(Entry, key, fingerprint)) is not None:
        return done
    left = original.amount - _reversed_so_far(original)
    wanted = left if points is None else check_points(points)
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
        raise PointsAlreadySpent(
            details={"entry_id": entry_id, "wanted": wanted, "left_in_lot": lot.remaining - lot.held})
    details = {"policy": policy, "wanted": wanted, "forgiven": outcome.forgiven, "debt": outcome.debt}
    common: dict[str, Any] = {"reverses": original, "idempotency_key": key, "fingerprint": fingerprint,
                              "details": details}
    amount = -(outcome.taken + outcome.debt)
    if outcome.debt:
        moves = [(lot.pk, -outcome.taken)] if outcome.taken else []
        moves.append((_debt_lot(account, ctx).pk, -outcome.debt))
        return book(account, Entry.Kind.REVERSAL, amount, ctx, moves=moves, **common)
    return book(account, Entry.Kind.REVERSAL, amount, ctx, lot=lot, **common)


def _reversed_so_far(entry: Entry) -> int:
    """Points of an accrual already dealt with by reversals: taken back, booked as debt, or forgiven."""
    total = 0
    for amount, details in entry.reversals.filter(kind=Entry.Kind.REVERSAL).values_list("amount", "details"):
        total += -amount + int((details or {}).get("forgiven", 0))
    return total


def _return_policy(policy: str | None) -> str:
    policy = policy or programme_value("RETURN_POLICY")
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


def _debt_lot(account: Account, ctx: Context) -> Lot:
    debt = Lot.objects.select_for_update().filter(account=account, is_debt=True).order_by("id").first()
    if debt is None:
        category = reference.category(reference.DEBT)
        assert category is not None  # migration ledger 0002 creates it
        debt = Lot.objects.create(
            account=account,
            category_id=category.id,
            source_kind="debt",
            amount=0,
            remaining=0,
            accrued_at=ctx.at,
            activates_at=ctx.at,
            is_debt=True,
        )
    return debt


@atomic_write
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
    key = check_key(idempotency_key)
    original = _entry(entry_id)
    if original.amount >= 0 or original.kind not in (Entry.Kind.SPEND, Entry.Kind.ADJUSTMENT):
        raise ValidationFailed(_("Only a spending can be returned."), code="not_a_spend",
                               details={"entry_id": entry_id})
    ctx = context(
        actor, at, Source(original.source_kind, original.source_ref), check_reason(reason_code, required=False), comment
    )
    fingerprint = fingerprint_of("restore", entry=entry_id, points=points)
    account = lock_account(original.account.member_id)[1]
    if (done := earlier_result(Entry, key, fingerprint)) is not None:
        return done
    drawn = [(lot_id, -amount)
             for lot_id, amount in original.allocations.order_by("id").values_list("lot_id", "amount")]
    restored: dict[int, int] = {}
    for lot_id, amount in Allocation.objects.filter(
        entry__reverses=original, entry__kind=Entry.Kind.RESTORE
    ).values_list("lot_id", "amount"):
        restored[lot_id] = restored.get(lot_id, 0) + amount
    left = sum(n for _, n in drawn) - sum(restored.values())
    if left <= 0:
        raise NothingToReverse(details={"entry_id": entry_id})
    wanted = left if points is None else check_points(points)
    if wanted > left:
        raise InvalidPoints(
            _("Only %(left)d points of this spending are left to return.") % {"left": left},
            details={"points": wanted, "left": left},
        )
    plan = booking.plan_restore(drawn, restored, wanted)
    lock_lots([lot_id for lot_id, _n in plan])
    return book(
        account, Entry.Kind.RESTORE, wanted, ctx, moves=list(plan),
        reverses=original, idempotency_key=key, fingerprint=fingerprint,
    )
