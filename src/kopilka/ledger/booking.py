"""Pure booking rules: which lots a spend draws from, what a reversal can take back, where a return goes.

No I/O here: the services load lots, call these functions and write what they return. Every function is total on
valid input and raises a ledger error (never a partial plan) when the request cannot be met in full.

The redemption orders are defined here once, in `REDEMPTION_ORDERS_BY`: the Python sort key
(`redemption_key`) and the SQL ORDER BY lists (`redemption_order_sql`, used by `statements`, the spendable lots
that a cart's quote reads, and the bulk seed) are built from it, and the PostgreSQL spend function (migrations
ledger 0004 and 0007) is held equal to it by tests on PostgreSQL.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from kopilka.ledger.errors import InsufficientPoints

CATEGORY_FIFO = "category_fifo"
SOONEST_EXPIRING = "soonest_expiring"


@dataclass(frozen=True)
class OrderTerm:
    """One term of a redemption order: a `LotState` field, ascending; with `absent_last`, lots without a value
    (no expiry) come after every lot with one."""

    field: str
    absent_last: bool = False


# The order in which a spend draws from lots, first lot first; each ends with the lot's id, so it is total.
# category_fifo: the categories' redemption ranks (promo, then compensation, then base), oldest first in one.
# soonest_expiring: the soonest expiry first (lots that never expire last), then oldest first.
REDEMPTION_ORDERS_BY: dict[str, tuple[OrderTerm, ...]] = {
    CATEGORY_FIFO: (OrderTerm("category_rank"), OrderTerm("accrued_at"), OrderTerm("id")),
    SOONEST_EXPIRING: (OrderTerm("expires_at", absent_last=True), OrderTerm("accrued_at"), OrderTerm("id")),
}
REDEMPTION_ORDERS = tuple(REDEMPTION_ORDERS_BY)

TAKE_AVAILABLE = "take_available"
NEGATIVE = "negative"
BLOCK = "block"
RETURN_POLICIES = (TAKE_AVAILABLE, NEGATIVE, BLOCK)

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


def _terms(policy: str) -> tuple[OrderTerm, ...]:
    try:
        return REDEMPTION_ORDERS_BY[policy]
    except KeyError:
        raise ValueError(f"unknown redemption order {policy!r}") from None


def redemption_key(policy: str):
    """Sort key putting the lot to spend first first, by the terms of `REDEMPTION_ORDERS_BY[policy]`."""
    terms = _terms(policy)

    def key(lot) -> tuple:
        parts = []
        for term in terms:
            value = getattr(lot, term.field)
            parts.append((value is None, value) if term.absent_last else value)
        return tuple(parts)

    return key


def redemption_order_sql(policy: str, columns: Mapping[str, str | None]) -> str:
    """The ORDER BY list of `policy` in SQL: `columns` names the SQL expression of each `LotState` field the
    order uses; a field named None is left out (every lot read shares its value). Ascending, lots without a
    value last where the term says so."""
    parts = []
    for term in _terms(policy):
        column = columns[term.field]
        if column is not None:
            parts.append(f"{column} ASC NULLS LAST" if term.absent_last else column)
    return ", ".join(parts)


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
