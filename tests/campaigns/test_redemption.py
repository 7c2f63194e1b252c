"""The redemption plan is the true optimum: checked against brute force on random small carts."""

import itertools
import threading
from contextlib import nullcontext
from decimal import Decimal
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kopilka.campaigns import redemption
from kopilka.campaigns.redemption import CartLine, Pool, Shop, kopecks, plan_redemption

D = Decimal


def test_the_seeds_example_thirty_percent_of_the_receipt_and_promo_points_only_on_their_group():
    lines = [CartLine(1, D("10000"), frozenset({"fillers"})), CartLine(2, D("2000"), frozenset({"care"}))]
    promo = Pool("launch:v1", points=5000, rank=0, groups=frozenset({"care"}))
    base = Pool("base:v1", points=5000, rank=1)

    plan = plan_redemption(lines, [promo, base], receipt_cap_percent=D(30))

    assert (plan.maximum, plan.points) == (3600, 3600)
    assert plan.allocation == {("launch:v1", 2): 2000, ("base:v1", 1): 1600}
    assert plan.discount([promo, base]) == D(3600)


def test_a_coefficient_makes_each_point_worth_more_and_the_request_is_honoured_up_to_the_maximum():
    lines = [CartLine(1, D("1000.50"), frozenset({"care"}))]
    doubled = Pool("cream:v2", points=1000, rank=0, coefficient=D(2), line_cap_percent=D(50))

    assert plan_redemption(lines, [doubled]).maximum == 250  # 50 % of 1000.50 = 500.25 ₽ → 250 points × 2 ₽
    plan = plan_redemption(lines, [doubled], requested=100)
    assert (plan.points, plan.allocation) == (100, {("cream:v2", 1): 100})
    assert plan_redemption(lines, [doubled], requested=10_000).points == 250


def test_a_partner_product_takes_points_at_the_shops_rate_and_cap_outside_the_receipts_cap():
    lines = [CartLine(1, D("10000"), frozenset({"fillers"})),
             CartLine(2, D("3000"), frozenset({"gifts"}), partner=True)]
    doubled = Pool("cream:v2", points=10_000, rank=0, coefficient=D(2), line_cap_percent=D(10),
                   receipt_cap_percent=D(5))
    shop = Shop(coefficient=D("0.5"), cap_percent=D(80))

    plan = plan_redemption(lines, [doubled], receipt_cap_percent=D(30), shop=shop)

    # The filler: the pool's 5 % of the ordinary lines at 2 ₽ a point (250 points, under its 10 % line cap); the
    # gift: 80 % of 3 000 ₽ at 0.50 ₽ a point, the pool's caps and the receipt's 30 % not counting it.
    assert plan.allocation == {("cream:v2", 1): 250, ("cream:v2", 2): 4800}
    assert plan.discount([doubled], partner=frozenset({2}), shop=shop) == D(500) + D(2400)


def test_nothing_to_spend_on_gives_an_empty_plan():
    plan = plan_redemption([CartLine(1, D(500), frozenset({"care"}))], [Pool("p", 100, 0, frozenset({"fillers"}))])

    assert (plan.maximum, plan.points, plan.allocation) == (0, 0, {})


def test_a_plan_that_breaks_a_cap_by_a_tolerance_is_replaced_by_the_exact_one(monkeypatch):
    """The solvers work to tolerances; the plan is checked in whole kopecks and points before it is used."""
    lines = [CartLine(1, D("10000"), frozenset({"fillers"})), CartLine(2, D("2000"), frozenset({"care"}))]
    pools = [Pool("launch:v1", points=5000, rank=0, groups=frozenset({"care"})), Pool("base:v1", points=5000, rank=1)]
    right = plan_redemption(lines, pools, receipt_cap_percent=D(30))
    redemption._remembered.cache_clear()
    honest = redemption._Program.solve

    def one_point_too_many(program, limit=None):
        plan = honest(program, limit)
        plan[0] += 1  # a cap broken by one point, as a rounding that trusted a tolerance would
        return plan

    monkeypatch.setattr(redemption._Program, "solve", one_point_too_many)
    checked = plan_redemption(lines, pools, receipt_cap_percent=D(30))
    redemption._remembered.cache_clear()
    assert (checked.points, checked.allocation) == (right.points, right.allocation)


@pytest.fixture
def forgetful():
    """No remembered plan is used by the test, nor kept after it (its solvers are patched)."""
    redemption._remembered.cache_clear()
    yield
    redemption._remembered.cache_clear()


def without_shortcut(monkeypatch) -> None:
    """Every plan goes through the solvers, also those the pools' totals alone would prove."""
    monkeypatch.setattr(redemption._Program, "_without_solver", lambda program, limit: None)


def trusting_solvers(monkeypatch) -> None:
    """A relaxation one point over a cap, as the simplex's tolerance allows, and a rounding that trusts it."""
    without_shortcut(monkeypatch)
    honest = redemption.Relaxation.maximize

    def one_point_over(relaxation, objective):
        relaxed, optimum = honest(relaxation, objective)
        return relaxed + np.eye(len(relaxed))[0], optimum + 1

    monkeypatch.setattr(redemption.Relaxation, "maximize", one_point_over)
    monkeypatch.setattr(redemption._Program, "_rounded", lambda program, relaxed, *_: np.round(relaxed).astype(int))


ONE_LINE = [CartLine(1, D("10000"))]
BASE = [Pool("base:v1", points=5000, rank=0)]
CHECKS_FAILED = ["a redemption plan broke a cap by the solver's tolerance; solving exactly",
                 "the exact redemption plan broke a cap too; no points are planned"]


def test_the_maximum_is_the_points_of_a_plan_checked_in_whole_kopecks(monkeypatch, caplog, forgetful):
    """A rounded relaxation 3 001 points strong breaks the receipt's 30 % cap of 3 000 ₽ by a point: the maximum is
    what the exact program's plan spends, as is the plan of the request."""
    trusting_solvers(monkeypatch)

    plan = plan_redemption(ONE_LINE, BASE, receipt_cap_percent=D(30), requested=100)

    assert (plan.maximum, plan.points, plan.allocation) == (3000, 100, {("base:v1", 1): 100})
    assert [record.message for record in caplog.records] == CHECKS_FAILED[:1] * 2  # the request's plan, the maximum's


def test_when_the_exact_plan_breaks_a_cap_too_the_maximum_is_no_points(monkeypatch, caplog):
    trusting_solvers(monkeypatch)
    monkeypatch.setattr(redemption._Program, "_exact", lambda program, matrix, upper: np.array([3001]))
    program = redemption._Program([(0, 0)], ONE_LINE, BASE, None, D(30), Shop())

    assert program.most() == 0
    assert [record.message for record in caplog.records] == CHECKS_FAILED


def test_a_remembered_plan_is_handed_out_as_a_copy():
    lines = [CartLine(1, D(1000)), CartLine(2, D(300), frozenset({"care"}))]
    pools = [Pool("base", 800, rank=1), Pool("care", 100, rank=0, groups=frozenset({"care"}))]

    first = plan_redemption(lines, pools, receipt_cap_percent=D(50), requested=400)
    expected = dict(first.allocation)
    first.allocation.clear()
    again = plan_redemption(lines, pools, receipt_cap_percent=D(50), requested=400)

    assert again.allocation == expected and sum(expected.values()) == 400
    assert (again.maximum, again.points) == (first.maximum, first.points) == (650, 400)


def test_a_solver_used_before_plans_as_a_fresh_one_does():
    """Each thread reuses one solver; what it solved before does not change the next plan."""
    lines = [CartLine(n, D(700 + 350 * n), frozenset({"care" if n % 2 else "fillers"})) for n in range(1, 13)]
    pools = [Pool(f"p{i}", 300 + 50 * i, rank=i % 3, groups=frozenset({"care"}) if i % 2 else frozenset(),
                  coefficient=D([1, "1.5", 2][i % 3]), line_cap_percent=D(50) if i % 4 == 0 else None)
             for i in range(8)]
    plans = []

    def plan():
        plans.append(plan_redemption(lines, pools, receipt_cap_percent=D(30), line_cap_percent=D(80)))

    redemption._remembered.cache_clear()
    fresh = threading.Thread(target=plan)  # a thread of its own: a fresh solver
    fresh.start()
    fresh.join()
    redemption._remembered.cache_clear()
    plan_redemption(lines[:5], pools[3:], requested=77)  # leaves another program in this thread's solver
    plan()

    assert plans[0] == plans[1] and plans[0].points > 0


def test_equal_optima_follow_the_redemption_order():
    lines = [CartLine(1, D(1000))]
    pools = [Pool("base", 800, rank=2), Pool("promo", 300, rank=0), Pool("compensation", 200, rank=1)]

    plan = plan_redemption(lines, pools, receipt_cap_percent=D(30))

    assert plan.allocation == {("promo", 1): 300}
    plan = plan_redemption(lines, pools, receipt_cap_percent=D(60))
    assert plan.allocation == {("promo", 1): 300, ("compensation", 1): 200, ("base", 1): 100}


# --- against brute force --------------------------------------------------------------------------------------------

GROUPS = ["a", "b"]
_lines = st.lists(
    st.builds(
        lambda amount, groups: (D(amount) / 4, frozenset(groups)),
        st.integers(0, 60),
        st.sets(st.sampled_from(GROUPS), max_size=2),
    ),
    min_size=1,
    max_size=3,
)
_pools = st.lists(
    st.builds(
        lambda points, groups, coefficient, line_cap, receipt_cap: (points, frozenset(groups), coefficient, line_cap,
                                                                    receipt_cap),
        st.integers(0, 5),
        st.sets(st.sampled_from(GROUPS), max_size=1),
        st.sampled_from([D(1), D("0.5"), D(2), D("1.25")]),
        st.sampled_from([None, D(50), D(30)]),
        st.sampled_from([None, D(40)]),
    ),
    min_size=1,
    max_size=2,
)


def _feasible(lines, pools, allocation, line_cap, receipt_cap) -> bool:
    def discount(selected) -> int:
        return sum(int(p.coefficient * 100) * n for (key, line), n in allocation.items()
                   for p in pools if p.key == key and selected(p, line))

    total = sum((line.amount for line in lines), D(0))
    for pool in pools:
        if sum(n for (key, _), n in allocation.items() if key == pool.key) > pool.points:
            return False
        for (key, number), n in allocation.items():
            line = next(x for x in lines if x.number == number)
            if key == pool.key and n and not pool.accepts(line):
                return False
        if pool.receipt_cap_percent is not None and discount(lambda p, _, k=pool.key: p.key == k) > kopecks(
            total, pool.receipt_cap_percent
        ):
            return False
    for line in lines:
        if discount(lambda _, number, n=line.number: number == n) > kopecks(line.amount, line_cap):
            return False
        for pool in pools:
            if pool.line_cap_percent is not None and discount(
                lambda p, number, k=pool.key, n=line.number: p.key == k and number == n
            ) > kopecks(line.amount, pool.line_cap_percent):
                return False
    return discount(lambda *_: True) <= kopecks(total, receipt_cap)


def _brute_force(lines, pools, line_cap, receipt_cap) -> tuple[int, int]:
    """(most points, then the best preference score) over every integer allocation."""
    cells = [(p, line) for p in pools for line in lines]
    worst = max(p.rank for p in pools) + 1
    best = (0, 0)
    for values in itertools.product(*[range(p.points + 1) for p, _ in cells]):
        allocation = {(p.key, line.number): v for (p, line), v in zip(cells, values, strict=True) if v}
        if _feasible(lines, pools, allocation, line_cap, receipt_cap):
            score = (sum(values), sum(v * (worst - p.rank) for (p, _), v in zip(cells, values, strict=True)))
            best = max(best, score)
    return best


@pytest.mark.parametrize("path", ["as planned", "solvers only"])
@settings(max_examples=150, deadline=None)
@given(raw_lines=_lines, raw_pools=_pools, line_cap=st.sampled_from([None, D(80)]),
       receipt_cap=st.sampled_from([None, D(30), D(70)]), requested=st.one_of(st.none(), st.integers(0, 8)))
def test_the_plan_is_feasible_and_optimal_against_brute_force(path, raw_lines, raw_pools, line_cap, receipt_cap,
                                                               requested):
    """"as planned": most of these small programs are proven by the pools' totals alone (`pool_totals`); "solvers
    only" plans every one by the simplex and the exact program."""
    redemption._remembered.cache_clear()
    with mock.patch.object(redemption._Program, "_without_solver", return_value=None) if path == "solvers only" \
            else nullcontext():
        _check_against_brute_force(raw_lines, raw_pools, line_cap, receipt_cap, requested)
    redemption._remembered.cache_clear()


def _check_against_brute_force(raw_lines, raw_pools, line_cap, receipt_cap, requested):
    lines = [CartLine(n, amount, groups) for n, (amount, groups) in enumerate(raw_lines, start=1)]
    pools = [Pool(f"p{i}", points, rank=i, groups=groups, coefficient=coefficient, line_cap_percent=lc,
                  receipt_cap_percent=rc) for i, (points, groups, coefficient, lc, rc) in enumerate(raw_pools)]

    plan = plan_redemption(lines, pools, line_cap_percent=line_cap, receipt_cap_percent=receipt_cap,
                           requested=requested)

    most, _ = _brute_force(lines, pools, line_cap, receipt_cap)
    assert plan.maximum == most
    assert plan.points == (most if requested is None else min(requested, most))
    assert sum(plan.allocation.values()) == plan.points
    assert _feasible(lines, pools, plan.allocation, line_cap, receipt_cap)
    if requested is None:
        worst = max(p.rank for p in pools) + 1
        score = sum(n * (worst - next(p.rank for p in pools if p.key == key))
                    for (key, _), n in plan.allocation.items())
        assert (plan.points, score) == _brute_force(lines, pools, line_cap, receipt_cap)

    # booked without solving for the maximum, the plan is the same
    booked = plan_redemption(lines, pools, line_cap_percent=line_cap, receipt_cap_percent=receipt_cap,
                             requested=requested, solve_maximum=False)
    assert (booked.points, booked.allocation) == (plan.points, plan.allocation)
    assert booked.maximum in (plan.maximum, plan.points)
