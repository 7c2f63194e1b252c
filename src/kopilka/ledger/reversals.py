"""Reversals: taking back (part of) an accrual under the return policy, and giving back (part of) a spend into
the very lots it drew from.

Points of an accrual already spent are handled by the return policy: "negative" books them as a debt lot,
"take_available" forgives them, "block" refuses. A restore gives each lot back at most what the spend drew
from it, last drawn first, with the lot's original expiry.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils.translation import gettext_lazy as _

from kopilka.core.errors import IdempotencyKeyReused, ValidationFailed
from kopilka.ledger import booking, reference
from kopilka.ledger._bookkeeping import book
from kopilka.ledger._inputs import (
    Context,
    Source,
    check_key,
    check_points,
    check_reason,
    check_return_policy,
    context,
)
from kopilka.ledger._locking import atomic_write, earlier_result, fingerprint_of, lock_account, lock_lots
from kopilka.ledger.errors import EntryNotFound, InvalidPoints, NothingToReverse, PointsAlreadySpent
from kopilka.ledger.models import Account, Allocation, Entry, Lot


@dataclass(frozen=True)
class TakeBack:
    """One reversal of a batch: (part of) the accrual `entry_id` — all that is left of it when `points` is None."""

    entry_id: int
    idempotency_key: str
    points: int | None = None


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
    return reverse_accruals([TakeBack(entry_id, idempotency_key, points)], actor=actor, reason_code=reason_code,
                            comment=comment, policy=policy, at=at)[0]


def reverse_accruals(
    takes: list[TakeBack],
    *,
    actor: str,
    reason_code: str = "",
    comment: str = "",
    policy: str | None = None,
    at: datetime | None = None,
) -> list[Entry]:
    """Take back several accruals of one member at once (a return of an order that earned under several
    campaigns), each as `reverse_accrual` would, under one lock of the account and a fixed number of reads: all or
    nothing. A key booked before answers with its first entry."""
    policy = check_return_policy(policy)
    keys = [check_key(take.idempotency_key) for take in takes]
    if len(set(keys)) != len(keys) or len({take.entry_id for take in takes}) != len(takes):
        raise ValidationFailed(_("Each reversal of a batch needs an accrual and a key of its own."),
                               code="reversal_batch_invalid")
    originals = {e.pk: e for e in Entry.objects.filter(pk__in=[t.entry_id for t in takes]).select_related("account")}
    for take in takes:
        original = originals.get(take.entry_id)
        if original is None:
            raise EntryNotFound(details={"entry_id": take.entry_id})
        if (original.lot_id is None or original.amount <= 0
                or original.kind not in (Entry.Kind.ACCRUAL, Entry.Kind.ADJUSTMENT)):
            raise ValidationFailed(
                _("Only an accrual can be reversed."), code="not_an_accrual", details={"entry_id": take.entry_id}
            )
    if len({original.account.member_id for original in originals.values()}) > 1:
        raise ValidationFailed(_("A batch of reversals takes back the points of one member."),
                               code="reversal_batch_invalid")
    reason = check_reason(reason_code, required=False)
    account = lock_account(next(iter(originals.values())).account.member_id)[1]
    earlier = {entry.idempotency_key: entry for entry in Entry.objects.filter(idempotency_key__in=keys)}
    so_far = _reversed_so_far([take.entry_id for take in takes])
    lots = {lot.pk: lot for lot in Lot.objects.select_for_update().filter(
        pk__in=[originals[take.entry_id].lot_id for take in takes]).order_by("id")}
    booked = []
    for take, key in zip(takes, keys, strict=True):
        original = originals[take.entry_id]
        fingerprint = fingerprint_of("reverse", entry=take.entry_id, points=take.points, policy=policy)
        if key in earlier:
            if earlier[key].fingerprint != fingerprint:
                raise IdempotencyKeyReused(details={"key": key})
            booked.append(earlier[key])
            continue
        ctx = context(actor, at, Source(original.source_kind, original.source_ref), reason, comment)
        assert original.lot_id is not None  # checked above: an accrual has its lot
        booked.append(_take_back(account, original, lots[original.lot_id], so_far[take.entry_id], take.points,
                                 policy, ctx, key, fingerprint))
    return booked


def _take_back(account: Account, original: Entry, lot: Lot, reversed_so_far: int, points: int | None, policy: str,
               ctx: Context, key: str, fingerprint: str) -> Entry:
    """One reversal under the account's lock: the accrual's lot gives back what it can, the policy decides the rest."""
    left = original.amount - reversed_so_far
    wanted = left if points is None else check_points(points)
    if left <= 0:
        raise NothingToReverse(details={"entry_id": original.pk})
    if wanted > left:
        raise InvalidPoints(
            _("Only %(left)d points of this accrual are left to reverse.") % {"left": left},
            details={"points": wanted, "left": left},
        )
    outcome = booking.plan_take_back(lot.remaining - lot.held, wanted, policy)
    if outcome is None:
        raise PointsAlreadySpent(
            details={"entry_id": original.pk, "wanted": wanted, "left_in_lot": lot.remaining - lot.held})
    details = {"policy": policy, "wanted": wanted, "forgiven": outcome.forgiven, "debt": outcome.debt}
    common: dict[str, Any] = {"reverses": original, "idempotency_key": key, "fingerprint": fingerprint,
                              "details": details}
    amount = -(outcome.taken + outcome.debt)
    if outcome.debt:
        moves = [(lot.pk, -outcome.taken)] if outcome.taken else []
        moves.append((_debt_lot(account, ctx).pk, -outcome.debt))
        return book(account, Entry.Kind.REVERSAL, amount, ctx, moves=moves, **common)
    return book(account, Entry.Kind.REVERSAL, amount, ctx, lot=lot, **common)


def _reversed_so_far(entry_ids: list[int]) -> dict[int, int]:
    """Points of each accrual already dealt with by reversals: taken back, booked as debt, or forgiven."""
    total: dict[int, int] = defaultdict(int)
    for reverses, amount, details in Entry.objects.filter(reverses_id__in=entry_ids, kind=Entry.Kind.REVERSAL
                                                          ).values_list("reverses_id", "amount", "details"):
        total[reverses] += -amount + int((details or {}).get("forgiven", 0))
    return total


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
