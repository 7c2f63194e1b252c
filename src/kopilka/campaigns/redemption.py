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

How it is solved, fast and still exact: first without the lines' rows (`pool_totals`), which bounds both stages
in closed form; when the pools' totals that reach those bounds can be placed on the lines, that plan is optimal and
no solver runs (the usual cart, whose receipt cap binds before its lines do). Otherwise each stage solves the
linear relaxation (HiGHS simplex, about a millisecond), rounds it down and fills the gaps greedily; the
relaxation's optimum bounds every integer plan, so a rounded plan that reaches the bound's floor is proven optimal.
Only when it does not is the integer program solved by branch and bound (HiGHS MILP), which is slower but always
exact. The solvers work to tolerances, so every plan — the one planned and the one the maximum counts — is checked in
whole kopecks and points (`_Program.checked`) before it is used, the shortcut's too.
"""

import logging
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from functools import lru_cache

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from kopilka.campaigns import pool_totals
from kopilka.campaigns.relaxation import Relaxation

HUNDRED = Decimal(100)
MEMO_SIZE = 256


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
    `shop` holds the terms of partner lines. With `solve_maximum` False the maximum is not worked out when the
    request is met (`maximum` is then the points planned): for a caller that books the plan and shows no maximum."""
    plan = _remembered(tuple(lines), tuple(pools), line_cap_percent, receipt_cap_percent, requested, shop,
                       solve_maximum)
    return RedemptionPlan(plan.maximum, plan.points, dict(plan.allocation))


@lru_cache(maxsize=MEMO_SIZE)
def _remembered(lines: tuple[CartLine, ...], pools: tuple[Pool, ...], line_cap_percent: Decimal | None,
                receipt_cap_percent: Decimal | None, requested: int | None, shop: Shop,
                solve_maximum: bool) -> RedemptionPlan:
    """The plan of `_optimal`, shared by the memo: never handed out as it is."""
    return _optimal(list(lines), list(pools), line_cap_percent, receipt_cap_percent, requested, shop, solve_maximum)


def _optimal(lines: list[CartLine], pools: list[Pool], line_cap_percent: Decimal | None,
             receipt_cap_percent: Decimal | None, requested: int | None, shop: Shop,
             solve_maximum: bool) -> RedemptionPlan:
    cells = [(p, n) for p, pool in enumerate(pools) if pool.points > 0
             for n, line in enumerate(lines) if pool.accepts(line)]
    if not cells:
        return RedemptionPlan(maximum=0, points=0)
    variables = [(pools[p], lines[n]) for p, n in cells]
    program = _Program(cells, lines, pools, line_cap_percent, receipt_cap_percent, shop)
    chosen = program.checked(program.solve(limit=requested), requested)
    points = int(chosen.sum())
    met = requested is None or points < requested or not solve_maximum
    maximum = points if met else max(points, program.most())  # both spent by checked plans
    allocation = {
        (pool.key, line.number): int(value) for (pool, line), value in zip(variables, chosen, strict=True) if value
    }
    return RedemptionPlan(maximum=maximum, points=points, allocation=allocation)


log = logging.getLogger(__name__)


class _Program:
    """max Σ (M + preference) · y  subject to  A · y ≤ u,  0 ≤ y ≤ bounds,  y integer.

    y are the points of a pool on a line; M exceeds any preference gain, so the optimum spends the most points
    and, among those plans, takes most from the preferred pools. Every row of A is in kopecks of discount, or
    in points for a pool's supply. Rows: each line's discount, the ordinary lines' discount, each pool's supply,
    and the discount of the ordinary lines by each pool with a receipt cap. A is small (a cart's lines by the
    member's pools) and kept dense, in whole numbers.
    """

    def __init__(self, cells: list[tuple[int, int]], lines: list[CartLine], pools: list[Pool],
                 line_cap_percent: Decimal | None, receipt_cap_percent: Decimal | None, shop: Shop):
        """`cells`: (pool index, line index) of each variable."""
        pool_of = np.array([p for p, _ in cells], dtype=np.intp)
        line_of = np.array([n for _, n in cells], dtype=np.intp)
        every = np.arange(len(cells))
        partner = np.array([line.partner for line in lines], dtype=bool)[line_of]
        ordinary = every[~partner]
        pool_worth = np.array([int(pool.coefficient * HUNDRED) for pool in pools], dtype=np.int64)
        worth = np.where(partner, int(shop.coefficient * HUNDRED), pool_worth[pool_of])
        capped = [index for index, pool in enumerate(pools) if pool.receipt_cap_percent is not None]
        ordinary_row, supply_row = len(lines), len(lines) + 1
        discount_row = supply_row + len(pools)
        matrix = np.zeros((discount_row + len(capped), len(cells)), dtype=np.int64)
        matrix[line_of, every] = worth
        matrix[ordinary_row, ordinary] = worth[ordinary]
        matrix[supply_row + pool_of, every] = 1
        for n, index in enumerate(capped):
            mine = ordinary[pool_of[ordinary] == index]
            matrix[discount_row + n, mine] = worth[mine]
        # A pool's line cap bounds one variable: it is a bound, not a row (partner lines follow the shop's cap).
        bounds = np.array([pool.points for pool in pools], dtype=np.int64)[pool_of]
        line_caps: dict[Decimal, np.ndarray] = {}  # a pool's cap % → each line's cap in kopecks, worked out once
        for p, pool in enumerate(pools):
            if pool.line_cap_percent is not None:
                if pool.line_cap_percent not in line_caps:
                    line_caps[pool.line_cap_percent] = np.array(
                        [kopecks(line.amount, pool.line_cap_percent) for line in lines], dtype=np.int64)
                mine = ordinary[pool_of[ordinary] == p]
                bounds[mine] = np.minimum(bounds[mine], line_caps[pool.line_cap_percent][line_of[mine]] // worth[mine])
        ordinary_total = sum((line.amount for line in lines if not line.partner), Decimal(0))
        self.matrix = matrix
        self.cells, self.capped, self.ordinary_row = cells, capped, ordinary_row
        self.any_partner = bool(partner.any())
        self.pool_worth = [int(w) for w in pool_worth]
        self.int_upper = np.array(
            [kopecks(line.amount, shop.cap_percent if line.partner else line_cap_percent) for line in lines]
            + [kopecks(ordinary_total, receipt_cap_percent)]
            + [pool.points for pool in pools]
            + [kopecks(ordinary_total, pools[index].receipt_cap_percent) for index in capped],
            dtype=np.int64,
        )
        self.int_bounds = bounds
        self.bounds = self.int_bounds.astype(float)
        worst = max(p.rank for p in pools) + 1
        self.pool_preference = [worst - pool.rank for pool in pools]
        self.preference = np.array(self.pool_preference, dtype=float)[pool_of]
        # One more point must outweigh moving every point to a better pool.
        big = float(worst) * (float(self.bounds.sum()) + 1)
        self.objective = -(big + self.preference)
        self.ones = np.ones(len(cells))
        self.cheap_first = np.lexsort((-self.preference, worth))
        self.preferred_first = np.lexsort((worth, -self.preference))

    def _with_limit(self, limit: int | None) -> tuple[np.ndarray, np.ndarray]:
        """A and the row bounds (in floats, for the solvers), with the row Σ y ≤ `limit` last when there is a
        limit."""
        if limit is None:
            return self.matrix.astype(float), self.int_upper.astype(float)
        return (np.vstack([self.matrix, np.ones((1, self.matrix.shape[1]), dtype=np.int64)]).astype(float),
                np.append(self.int_upper, limit).astype(float))

    def checked(self, plan: np.ndarray, limit: int | None) -> np.ndarray:
        """`plan` when it keeps every cap, supply and bound in exact integer arithmetic (the solvers work to
        tolerances); else the exact program's plan if that keeps them; else the plan of no points, which always
        does."""
        if self.keeps(plan, limit):
            return plan
        log.error("a redemption plan broke a cap by the solver's tolerance; solving exactly")
        exact = self._exact(*self._with_limit(limit))
        if self.keeps(exact, limit):
            return exact
        log.error("the exact redemption plan broke a cap too; no points are planned")
        return np.zeros(self.matrix.shape[1], dtype=np.int64)

    def keeps(self, plan: np.ndarray, limit: int | None) -> bool:
        """Whether `plan` keeps every row and bound, computed in integers (every coefficient is a whole number of
        kopecks or points)."""
        plan = plan.astype(np.int64)
        return bool(
            (plan >= 0).all() and (plan <= self.int_bounds).all() and (self.matrix @ plan <= self.int_upper).all()
            and (limit is None or int(plan.sum()) <= limit)
        )

    def most(self) -> int:
        """The most points a plan spends, counted on a plan that `checked` passes: the relaxation's bound when
        rounding reaches it (the first stage of `solve` without a limit), else the exact program's."""
        return int(self.checked(self._most_plan(), None).sum())

    def _most_plan(self) -> np.ndarray:
        """A plan of the most points, before it is checked."""
        if (plan := self._without_solver(None)) is not None:
            return plan
        matrix, upper = self._with_limit(None)
        most = Relaxation(matrix, upper, self.bounds).maximize(self.ones)
        if most is not None:
            target = int(np.floor(most[1] + 1e-6))
            plan = self._rounded(most[0], matrix, upper, target, self.cheap_first)
            if plan.sum() >= target:
                return plan
        return self._exact(matrix, upper)

    def solve(self, limit: int | None = None) -> np.ndarray:
        """An optimal plan spending at most `limit` points (no limit: the most)."""
        if limit == 0:
            return np.zeros(self.matrix.shape[1], dtype=np.int64)  # the only plan
        if (plan := self._without_solver(limit)) is not None:
            return plan
        matrix, upper = self._with_limit(limit)
        relaxation = Relaxation(matrix, upper, self.bounds)
        most = relaxation.maximize(self.ones)
        if most is None:
            return self._exact(matrix, upper)
        target = int(np.floor(most[1] + 1e-6))
        plan = self._rounded(most[0], matrix, upper, target, self.cheap_first)
        if plan.sum() < target:
            return self._exact(matrix, upper)
        if self.preference @ plan == self.preference.max() * target:
            return plan  # every point from the most preferred pools: no plan of `target` points does better
        # Among the plans of `target` points, the one that takes most from the preferred pools (the simplex starts
        # from the basis it just found).
        relaxation.require_total(target)
        preferred = relaxation.maximize(self.preference)
        if preferred is None:
            return self._exact(matrix, upper)
        best = int(np.floor(preferred[1] + 1e-6))
        plan = self._rounded(preferred[0], matrix, upper, target, self.preferred_first)
        if plan.sum() == target and int(self.preference @ plan) >= best:
            return plan
        return self._exact(matrix, upper)

    def _without_solver(self, limit: int | None) -> np.ndarray | None:
        """The optimal plan when the lines do not bind, found and proven without a solver; None when this cannot
        be shown so. The program less its lines' rows (`pool_totals`) bounds the points and then the preference
        score of every plan; pool totals that reach both bounds, placed on the lines without breaking a row, are
        a plan that reaches them, hence optimal. Partner lines stand outside the receipt's cap: not shown here."""
        if self.any_partner or min(self.pool_worth) <= 0:
            return None
        supply = self._pool_supply()
        receipt = int(self.int_upper[self.ordinary_row])
        most = pool_totals.most_points(self.pool_worth, supply, receipt)
        total = most if limit is None else min(limit, most)
        bound, multiplier = pool_totals.preference_bound(self.pool_worth, supply, self.pool_preference, receipt,
                                                         total)
        taken = pool_totals.totals(self.pool_worth, supply, self.pool_preference, receipt, total, multiplier)
        if (sum(w * x for w, x in zip(self.pool_worth, taken, strict=True)) > receipt
                or sum(s * x for s, x in zip(self.pool_preference, taken, strict=True)) < bound):
            return None
        return self._placed(taken)

    def _pool_supply(self) -> list[int]:
        """Per pool, the most points it can give whatever the others do: its points, its own receipt cap, and
        the sum over its lines of what one line takes from it alone (its bound, the line's cap), whichever is
        least."""
        supply = [0] * len(self.pool_worth)
        upper = self.int_upper.tolist()
        for (p, n), bound in zip(self.cells, self.int_bounds.tolist(), strict=True):
            supply[p] += min(bound, upper[n] // self.pool_worth[p])
        supply_row = self.ordinary_row + 1
        supply = [min(points, upper[supply_row + p]) for p, points in enumerate(supply)]
        discount_row = supply_row + len(supply)
        for n, p in enumerate(self.capped):
            supply[p] = min(supply[p], upper[discount_row + n] // self.pool_worth[p])
        return supply

    def _placed(self, taken: list[int]) -> np.ndarray | None:
        """A plan giving each pool its total, filled line by line, the pools of fewest lines first; None when a
        row stops one short."""
        plan = [0] * len(self.cells)
        room, bounds = self.int_upper.tolist(), self.int_bounds.tolist()
        by_pool: dict[int, list[int]] = {}
        for k, (p, _) in enumerate(self.cells):
            by_pool.setdefault(p, []).append(k)
        supply_row = self.ordinary_row + 1
        discount_row = {p: supply_row + len(self.pool_worth) + n for n, p in enumerate(self.capped)}
        for p in sorted(by_pool, key=lambda p: (len(by_pool[p]), -self.pool_preference[p])):
            need, worth = taken[p], self.pool_worth[p]
            money_rows = [self.ordinary_row] + ([discount_row[p]] if p in discount_row else [])
            for k in by_pool[p]:
                if not need:
                    break
                rows = [self.cells[k][1], *money_rows]
                take = min(need, bounds[k], room[supply_row + p], *(room[r] // worth for r in rows))
                if take > 0:
                    plan[k] = take
                    need -= take
                    room[supply_row + p] -= take
                    for r in rows:
                        room[r] -= take * worth
            if need:
                return None
        return np.array(plan, dtype=np.int64)

    def _rounded(self, relaxed: np.ndarray, matrix: np.ndarray, upper: np.ndarray, target: int,
                 order: np.ndarray) -> np.ndarray:
        """The relaxed plan rounded down, then topped up variable by variable in `order` while every row and
        bound allows, up to `target` points: each time the first variable in `order` with room takes what it
        can (a variable without room never gets any later, rooms only shrink)."""
        plan = np.clip(np.floor(relaxed + 1e-7).astype(np.int64), 0, self.int_bounds)
        room = upper - matrix @ plan
        if (room < -1e-6).any():
            plan = np.zeros_like(plan)
            room = upper.copy()
        short = target - int(plan.sum())
        entries = matrix > 0
        while short > 0:
            with np.errstate(divide="ignore", invalid="ignore"):
                fits = np.where(entries, np.floor((room[:, None] + 1e-9) / matrix), np.inf).min(axis=0)
            can = np.minimum(fits, self.int_bounds - plan)[order]
            first = int(np.argmax(can > 0))
            if can[first] <= 0:
                break
            k = int(order[first])
            add = int(min(short, can[first]))
            plan[k] += add
            short -= add
            room -= matrix[:, k] * add
        return plan

    def _exact(self, matrix: np.ndarray, upper: np.ndarray) -> np.ndarray:
        result = milp(
            self.objective,
            constraints=LinearConstraint(matrix, -np.inf, upper),
            integrality=np.ones(len(self.objective), dtype=np.uint8),  # 1: every variable is an integer
            bounds=Bounds(0, self.bounds),
            options={"mip_rel_gap": 0},
        )
        if result.x is None:  # pragma: no cover - the zero plan is always feasible
            raise RuntimeError(f"the redemption program has no solution: {result.message}")
        return np.round(result.x).astype(np.int64)
