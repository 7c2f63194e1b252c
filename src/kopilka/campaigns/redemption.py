"""How many points a cart can take, and from which pools on which lines (SPEC §4.3) — an exact optimum.

Pure. The member's spendable lots are grouped into pools, one per redemption rule (the campaign version that
accrued them): a pool's points may go only to lines of its product groups (any line when it names none), each
point worth `coefficient` roubles of discount. Caps bound the discount: per line and per receipt, for each pool
(its rule's caps) and for all pools together (the programme's caps). A line is never discounted below zero.
A partner product of the redemption shop (SPEC §4.1) is a line of its own kind: points pay for it at the shop's
coefficient and up to the shop's cap per line, whatever pool they come from, and it stands outside the receipt's
caps (which bound the discount of the ordinary lines, as a share of what those cost).

The maximum spendable is the optimum of that integer program: first the most points, then — among the
allocations that reach it — the one that best follows the redemption order (pools of lower `rank` first). A
requested number of points is honoured up to the maximum. All money constraints are in kopecks, so nothing is
rounded: a discount is coefficient × points exactly.

How it is solved, fast and still exact: each stage first solves the linear relaxation (HiGHS simplex, a few
milliseconds), rounds it down and fills the gaps greedily; the relaxation's optimum bounds every integer plan,
so a rounded plan that reaches the bound's floor is proven optimal. Only when it does not is the integer
program solved by branch and bound (HiGHS MILP), which is slower but always exact.
"""

import math
import os
import sys
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

import highspy
import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class CartLine:
    number: int
    amount: Decimal  # what the line costs before points
    groups: frozenset[str] = frozenset()  # the product's group and its ancestors
    partner: bool = False  # a partner product of the redemption shop


@dataclass(frozen=True)
class Pool:
    key: str
    points: int
    rank: int  # lower goes first among equal optima
    groups: frozenset[str] = frozenset()  # empty: any product
    coefficient: Decimal = Decimal(1)
    line_cap_percent: Decimal | None = None
    receipt_cap_percent: Decimal | None = None

    def accepts(self, line: CartLine) -> bool:
        return not self.groups or bool(self.groups & line.groups)


@dataclass(frozen=True)
class RedemptionPlan:
    maximum: int  # the most points this cart can take
    points: int  # what the plan spends (the request, up to the maximum)
    allocation: dict[tuple[str, int], int] = field(default_factory=dict)  # (pool key, line number) → points

    def discount(self, pools: list[Pool], line: int | None = None, *, partner: frozenset[int] = frozenset(),
                 shop: "Shop | None" = None) -> Decimal:
        """Roubles of discount (of one line, or of all); points on the `partner` lines pay at the shop's rate."""
        coefficient = {p.key: p.coefficient for p in pools}
        return sum(
            ((shop.coefficient if shop and number in partner else coefficient[key]) * points
             for (key, number), points in self.allocation.items() if line is None or number == line),
            Decimal(0),
        )


@dataclass(frozen=True)
class Shop:
    """The redemption shop's terms for partner products: what a point pays there and the most of a line it pays."""

    coefficient: Decimal = Decimal(1)
    cap_percent: Decimal = HUNDRED


def kopecks(amount: Decimal, percent: Decimal | None) -> int:
    """`percent` % of `amount` in whole kopecks, rounded down (no cap: the whole amount)."""
    share = amount if percent is None else amount * percent / HUNDRED
    return int((share * HUNDRED).to_integral_value(rounding=ROUND_DOWN))


def plan_redemption(
    lines: list[CartLine],
    pools: list[Pool],
    *,
    line_cap_percent: Decimal | None = None,
    receipt_cap_percent: Decimal | None = None,
    requested: int | None = None,
    shop: Shop = Shop(),
    solve_maximum: bool = True,
) -> RedemptionPlan:
    """The optimal plan; `requested` None asks for the maximum. The caps are the programme's, for ordinary lines;
    `shop` holds the terms of partner lines. With `solve_maximum` False the maximum is not solved for when the
    request is met (`maximum` is then the points planned): for a caller that books the plan and shows no maximum."""
    variables = [(p, line) for p in pools for line in lines if p.points > 0 and p.accepts(line)]
    if not variables:
        return RedemptionPlan(maximum=0, points=0)
    program = _Program(variables, lines, pools, line_cap_percent, receipt_cap_percent, shop)
    chosen = program.solve(limit=requested)
    points = int(chosen.sum())
    met = requested is None or points < requested or not solve_maximum
    maximum = points if met else int(program.solve().sum())
    allocation = {
        (pool.key, line.number): int(value) for (pool, line), value in zip(variables, chosen, strict=True) if value
    }
    return RedemptionPlan(maximum=maximum, points=points, allocation=allocation)


class Relaxation:
    """The linear relaxation max c·y, A·y ≤ u, 0 ≤ y ≤ bounds, solved by the HiGHS simplex in place: a second
    objective, or an added row, starts from the basis of the previous solve."""

    def __init__(self, rows: np.ndarray, upper: np.ndarray, bounds: np.ndarray):
        self.size = rows.shape[1]
        self.highs = _new_highs()
        self.highs.addVars(self.size, np.zeros(self.size), bounds.astype(float))
        columns = [np.nonzero(row)[0].astype(np.int32) for row in rows]
        starts = np.concatenate([[0], np.cumsum([len(c) for c in columns])[:-1]]).astype(np.int32)
        self.highs.addRows(
            len(rows), np.full(len(rows), -highspy.kHighsInf), upper.astype(float), sum(len(c) for c in columns),
            starts, np.concatenate(columns), np.concatenate([row[c] for row, c in zip(rows, columns, strict=True)]),
        )
        self.highs.changeObjectiveSense(highspy.ObjSense.kMaximize)

    def maximize(self, objective: np.ndarray) -> tuple[np.ndarray, float] | None:
        """(an optimal y, the optimum), or None when the solver cannot tell."""
        self.highs.changeColsCost(self.size, np.arange(self.size, dtype=np.int32), objective.astype(float))
        self.highs.run()
        if self.highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        return np.array(self.highs.getSolution().col_value), self.highs.getInfo().objective_function_value

    def require_total(self, total: int) -> None:
        """From now on Σ y = total."""
        self.highs.addRow(total, total, self.size, np.arange(self.size, dtype=np.int32), np.ones(self.size))


def _sparse_columns(rows: np.ndarray) -> list[list[tuple[int, float]]]:
    """For each column of `rows`, its (row, value) pairs with a positive value."""
    columns: list[list[tuple[int, float]]] = [[] for _ in range(rows.shape[1])]
    found = np.nonzero(rows > 0)
    for r, k, value in zip(found[0].tolist(), found[1].tolist(), rows[found].tolist(), strict=True):
        columns[k].append((r, value))
    return columns


def _new_highs():
    """A silent solver. The library prints a banner when the first one of a process is made: that one is made
    with standard output pointed away."""
    global _banner_shown
    if _banner_shown:
        highs = highspy.Highs()
    else:
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), 1)
                highs = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        _banner_shown = True
    highs.setOptionValue("output_flag", False)
    return highs


_banner_shown = False


class _Program:
    """max Σ (M + preference) · y  subject to  A · y ≤ u,  0 ≤ y ≤ bounds,  y integer.

    y are the points of a pool on a line; M exceeds any preference gain, so the optimum spends the most points
    and, among those plans, takes most from the preferred pools. Every row of A is in kopecks of discount, or
    in points for a pool's supply.
    """

    def __init__(self, variables, lines, pools, line_cap_percent, receipt_cap_percent, shop: Shop):
        ordinary_total = sum((line.amount for line in lines if not line.partner), Decimal(0))
        pool_index = {id(pool): index for index, pool in enumerate(pools)}
        line_index = {id(line): index for index, line in enumerate(lines)}
        pool_worth = np.array([int(pool.coefficient * HUNDRED) for pool in pools], dtype=float)
        pool_of = np.array([pool_index[id(pool)] for pool, _ in variables])
        line_of = np.array([line_index[id(line)] for _, line in variables])
        on_partner = np.array([line.partner for _, line in variables], dtype=bool)
        worth = np.where(on_partner, float(int(shop.coefficient * HUNDRED)), pool_worth[pool_of])
        ordinary = np.where(on_partner, 0.0, worth)
        column = np.arange(len(variables))
        # Rows: each line's discount, the ordinary lines' discount, each pool's supply (and its discount of the
        # ordinary lines, when it has a receipt cap).
        by_line = np.zeros((len(lines), len(variables)))
        by_line[line_of, column] = worth
        supply = np.zeros((len(pools), len(variables)))
        supply[pool_of, column] = 1.0
        capped = [index for index, pool in enumerate(pools) if pool.receipt_cap_percent is not None]
        pool_discount = supply[capped] * ordinary
        self.rows = np.vstack([by_line, ordinary[np.newaxis, :], supply, pool_discount])
        self.upper = np.array(
            [kopecks(line.amount, shop.cap_percent if line.partner else line_cap_percent) for line in lines]
            + [kopecks(ordinary_total, receipt_cap_percent)]
            + [pool.points for pool in pools]
            + [kopecks(ordinary_total, pools[index].receipt_cap_percent) for index in capped],
            dtype=float,
        )
        # A pool's line cap bounds one variable: it is a bound, not a row (partner lines follow the shop's cap).
        bounds = []
        for pool, line in variables:
            cap = pool.points
            if pool.line_cap_percent is not None and not line.partner:
                cap = min(cap, kopecks(line.amount, pool.line_cap_percent) // int(pool.coefficient * HUNDRED))
            bounds.append(cap)
        self.bounds = np.array(bounds, float)
        self.worth = worth
        worst = max(p.rank for p in pools) + 1
        self.preference = (worst - np.array([pool.rank for pool in pools], dtype=float))[pool_of]
        # One more point must outweigh moving every point to a better pool.
        big = float(worst) * (float(self.bounds.sum()) + 1)
        self.objective = -(big + self.preference)

    def solve(self, limit: int | None = None) -> np.ndarray:
        """An optimal plan spending at most `limit` points (no limit: the most)."""
        rows, upper = self.rows, self.upper
        ones = np.ones(len(self.objective))
        if limit is not None:
            rows, upper = np.vstack([rows, ones]), np.append(upper, limit)
        relaxation = Relaxation(rows, upper, self.bounds)
        columns = _sparse_columns(rows)
        most = relaxation.maximize(ones)
        if most is None:
            return self._exact(rows, upper)
        target = int(np.floor(most[1] + 1e-6))
        cheap_first = np.lexsort((-self.preference, self.worth))
        plan = self._rounded(most[0], rows, columns, upper, target, cheap_first)
        if plan.sum() < target:
            return self._exact(rows, upper)
        if self.preference @ plan == self.preference.max() * target:
            return plan  # every point from the most preferred pools: no plan of `target` points does better
        # Among the plans of `target` points, the one that takes most from the preferred pools (the simplex starts
        # from the basis it just found).
        relaxation.require_total(target)
        preferred = relaxation.maximize(self.preference)
        if preferred is None:
            return self._exact(rows, upper)
        best = int(np.floor(preferred[1] + 1e-6))
        preferred_first = np.lexsort((self.worth, -self.preference))
        plan = self._rounded(preferred[0], rows, columns, upper, target, preferred_first)
        if plan.sum() == target and int(self.preference @ plan) >= best:
            return plan
        return self._exact(rows, upper)

    def _rounded(self, relaxed, rows, columns, upper, target: int, order) -> np.ndarray:
        """The relaxed plan rounded down, then topped up variable by variable in `order` while every row and
        bound allows, up to `target` points; `columns` are the rows' `_sparse_columns`."""
        plan = np.floor(relaxed + 1e-7).astype(np.int64)
        plan = np.minimum(plan, self.bounds.astype(np.int64))
        room = upper - rows @ plan
        if (room < -1e-6).any():
            plan = np.zeros(len(plan), dtype=np.int64)
            room = upper.copy()
        room, plan, bounds = room.tolist(), plan.tolist(), self.bounds.tolist()
        short = target - sum(plan)
        for k in order.tolist():
            if short <= 0:
                break
            fits = min((math.floor((room[r] + 1e-9) / value) for r, value in columns[k]), default=short)
            add = int(min(short, fits, bounds[k] - plan[k]))
            if add > 0:
                plan[k] += add
                short -= add
                for r, value in columns[k]:
                    room[r] -= value * add
        return np.array(plan, dtype=np.int64)

    def _exact(self, rows, upper) -> np.ndarray:
        result = milp(
            self.objective,
            constraints=LinearConstraint(rows, -np.inf, upper),
            integrality=np.ones(len(self.objective), dtype=np.uint8),  # 1: every variable is an integer
            bounds=Bounds(0, self.bounds),
            options={"mip_rel_gap": 0},
        )
        if result.x is None:  # pragma: no cover - the zero plan is always feasible
            raise RuntimeError(f"the redemption program has no solution: {result.message}")
        return np.round(result.x).astype(np.int64)
