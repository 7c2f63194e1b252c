"""Pure booking rules: which lots a spend draws from, what a reversal can take back, where a return goes.

No I/O here: the services load lots, call these functions and write what they return. Every function is total on
valid input and raises a ledger error (never a partial plan) when the request cannot be met in full.
"""

from dataclasses import dataclass
from datetime import datetime

from kopilka.ledger.errors import InsufficientPoints

CATEGORY_FIFO = "category_fifo"
SOONEST_EXPIRING = "soonest_expiring"
REDEMPTION_ORDERS = (CATEGORY_FIFO, SOONEST_EXPIRING)

TAKE_AVAILABLE = "take_available"
NEGATIVE = "negative"
BLOCK = "block"
RETURN_POLICIES = (TAKE_AVAILABLE, NEGATIVE, BLOCK)

_NEVER = datetime.max.replace(year=9999)


@dataclass(frozen=True)
class LotState:
    id: int
    category_rank: int
    accrued_at: datetime
    activates_at: datetime
    expires_at: datetime | None
    remaining: int
    held: int

    @property
    def free(self) -> int:
        """Points of the lot that nothing has reserved."""
        return self.remaining - self.held

    def is_spendable_at(self, moment: datetime) -> bool:
        return (
            self.free > 0
            and self.activates_at <= moment
            and (self.expires_at is None or moment < self.expires_at)
        )


def redemption_key(policy: str):
    """Sort key putting the lot to spend first first. Ties always break by accrual time, then id (FIFO)."""
    if policy == SOONEST_EXPIRING:
        return lambda lot: (_naive(lot.expires_at), lot.accrued_at, lot.id)
    if policy == CATEGORY_FIFO:
        return lambda lot: (lot.category_rank, lot.accrued_at, lot.id)
    raise ValueError(f"unknown redemption order {policy!r}")


def _naive(moment: datetime | None) -> datetime:
    return _NEVER if moment is None else moment.replace(tzinfo=None)


def spendable(lots: list[LotState], moment: datetime) -> int:
    return sum(lot.free for lot in lots if lot.is_spendable_at(moment))


def plan_spend(lots: list[LotState], points: int, moment: datetime, policy: str) -> list[tuple[int, int]]:
    """Draw `points` from the spendable lots in redemption order; returns [(lot_id, drawn)], drawn > 0.

    Invariant: the drawn amounts sum to `points` and no lot gives more than its free points.
    """
    if points <= 0:
        raise ValueError("points must be positive")
    plan: list[tuple[int, int]] = []
    left = points
    for lot in sorted((lot for lot in lots if lot.is_spendable_at(moment)), key=redemption_key(policy)):
        take = min(lot.free, left)
        plan.append((lot.id, take))
        left -= take
        if left == 0:
            return plan
    raise InsufficientPoints(details={"requested": points, "available": points - left})


def check_chosen(
    lots: list[LotState], chosen: list[tuple[int, int]], points: int, moment: datetime
) -> list[tuple[int, int]]:
    """The caller's own plan [(lot_id, points)], accepted only if every lot is spendable now with that many free
    points and the plan sums to `points`; otherwise InsufficientPoints, never a partial plan."""
    by_id = {lot.id: lot for lot in lots}
    if sum(n for _, n in chosen) != points or any(n <= 0 for _, n in chosen):
        raise ValueError("the chosen points must be positive and sum to the points")
    short = {
        lot_id: n for lot_id, n in chosen
        if lot_id not in by_id or not by_id[lot_id].is_spendable_at(moment) or by_id[lot_id].free < n
    }
    if short:
        raise InsufficientPoints(details={"requested": points, "lots": sorted(short)})
    return list(chosen)


@dataclass(frozen=True)
class TakeBack:
    """What reversing `wanted` points of a lot does: `taken` from the lot, `debt` booked below zero, `forgiven`."""

    taken: int
    debt: int
    forgiven: int


def plan_take_back(free_in_lot: int, wanted: int, policy: str) -> TakeBack | None:
    """Reverse `wanted` points of an accrual whose lot still has `free_in_lot` unreserved points.

    None means the policy refuses (BLOCK and the points were already spent). taken + debt + forgiven = wanted.
    """
    taken = min(max(free_in_lot, 0), wanted)
    short = wanted - taken
    if short == 0:
        return TakeBack(taken=taken, debt=0, forgiven=0)
    if policy == BLOCK:
        return None
    if policy == NEGATIVE:
        return TakeBack(taken=taken, debt=short, forgiven=0)
    if policy == TAKE_AVAILABLE:
        return TakeBack(taken=taken, debt=0, forgiven=short)
    raise ValueError(f"unknown return policy {policy!r}")


def plan_restore(drawn: list[tuple[int, int]], already_restored: dict[int, int], points: int) -> list[tuple[int, int]]:
    """Give back `points` of a spend into the lots it drew from, last drawn first.

    `drawn` is the spend's [(lot_id, drawn)] in the order it drew; `already_restored` what earlier returns gave back.
    Invariant: no lot gets back more than was drawn from it by this spend.
    """
    if points <= 0:
        raise ValueError("points must be positive")
    plan: list[tuple[int, int]] = []
    left = points
    for lot_id, amount in reversed(drawn):
        room = amount - already_restored.get(lot_id, 0)
        if room <= 0:
            continue
        give = min(room, left)
        plan.append((lot_id, give))
        left -= give
        if left == 0:
            return plan
    raise InsufficientPoints(details={"requested": points, "returnable": points - left})


def plan_settlement(debts: list[tuple[int, int]], incoming: int) -> list[tuple[int, int]]:
    """Pay debt lots [(lot_id, debt > 0)] oldest first out of `incoming` new points; returns [(lot_id, paid)]."""
    plan = []
    left = incoming
    for lot_id, debt in debts:
        if left == 0:
            break
        pay = min(debt, left)
        plan.append((lot_id, pay))
        left -= pay
    return plan
