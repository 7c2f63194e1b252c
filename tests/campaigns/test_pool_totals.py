"""The redemption program without its lines: bounds worked by hand, and the planner that proves plans by them."""

from decimal import Decimal
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kopilka.campaigns import pool_totals, redemption
from kopilka.campaigns.redemption import CartLine, Pool, plan_redemption

D = Decimal


def test_the_most_points_take_the_cheapest_points_first_until_the_receipts_cap_is_spent():
    # A cap of 1 000 kopecks: 4 points at 100 (400), then 600 // 150 = 4 points at 150 (600), none at 200.
    assert pool_totals.most_points(worth=[200, 100, 150], supply=[10, 4, 9], receipt=1000) == 8
    # Enough cap for everything: every pool's supply.
    assert pool_totals.most_points(worth=[200, 100], supply=[3, 4], receipt=10_000) == 7
    # The fractional knapsack's 4 + 50/150 points, rounded down.
    assert pool_totals.most_points(worth=[100, 150], supply=[4, 9], receipt=450) == 4


def test_the_preference_bound_is_the_relaxations_optimum_found_by_its_multiplier():
    # Pools: A dear (200 kopecks a point) and most preferred (3), B cheap (100) and least preferred (1), C 150 / 2.
    # With 6 points under 900 kopecks: all 6 from B use 600; every point moved B→A costs 100 more and gains 2,
    # B→C costs 50 more and gains 1: both trade at λ = 1/50 a kopeck, so the 300 kopecks left buy 6 points of
    # preference whichever way: 6·1 + 300/50 = 12, e.g. B 3, A 3 (3 + 9 = 12, 300 + 600 = 900).
    worth, supply, preference = [200, 100, 150], [5, 6, 5], [3, 1, 2]

    bound, multiplier = pool_totals.preference_bound(worth, supply, preference, receipt=900, total=6)

    assert (bound, multiplier) == (12, (1, 50))
    taken = pool_totals.totals(worth, supply, preference, 900, 6, multiplier)
    assert sum(taken) == 6 and sum(w * x for w, x in zip(worth, taken, strict=True)) <= 900
    assert sum(p * x for p, x in zip(preference, taken, strict=True)) == 12


def test_without_a_binding_cap_the_bound_takes_the_preferred_pools_first():
    bound, multiplier = pool_totals.preference_bound([100, 100, 100], [2, 5, 5], [3, 2, 1], receipt=10_000, total=6)

    assert (bound, multiplier) == (2 * 3 + 4 * 2, (0, 1))
    assert pool_totals.totals([100, 100, 100], [2, 5, 5], [3, 2, 1], 10_000, 6, multiplier) == [2, 4, 0]


@pytest.fixture
def no_solver(monkeypatch):
    """Fails the test if a plan reaches the simplex or the exact program."""
    redemption._remembered.cache_clear()

    def refuse(*args, **kwargs):
        raise AssertionError("the solver was used")

    monkeypatch.setattr(redemption, "Relaxation", refuse)
    monkeypatch.setattr(redemption._Program, "_exact", refuse)
    yield
    redemption._remembered.cache_clear()


def test_a_cart_whose_lines_do_not_bind_is_planned_without_a_solver(no_solver):
    lines = [CartLine(1, D("10000"), frozenset({"fillers"})), CartLine(2, D("2000"), frozenset({"care"}))]
    promo = Pool("launch:v1", points=5000, rank=0, groups=frozenset({"care"}))
    base = Pool("base:v1", points=5000, rank=1, coefficient=D("1.5"))

    plan = plan_redemption(lines, [promo, base], receipt_cap_percent=D(30), requested=None)

    # 30 % of 12 000 ₽ = 3 600 ₽: the promo pool's 2 000 points on its line, then 1 600 ₽ at 1.5 ₽ a point = 1 066.
    assert (plan.maximum, plan.points) == (3066, 3066)
    assert plan.allocation == {("launch:v1", 2): 2000, ("base:v1", 1): 1066}


def test_when_a_line_binds_the_plan_goes_to_the_solver(monkeypatch):
    """Two promo pools may go only on the 500 ₽ line: their totals without the lines (400 points each) overstate
    what they can place together, so the shortcut proves nothing and the solver plans."""
    redemption._remembered.cache_clear()
    lines = [CartLine(1, D("10000"), frozenset({"fillers"})), CartLine(2, D("500"), frozenset({"care"}))]
    first = Pool("launch:v1", points=400, rank=0, groups=frozenset({"care"}))
    second = Pool("spring:v1", points=400, rank=1, groups=frozenset({"care"}))
    base = Pool("base:v1", points=5000, rank=2)
    used = []
    real = redemption.Relaxation
    monkeypatch.setattr(redemption, "Relaxation", lambda *a: used.append(1) or real(*a))

    plan = plan_redemption(lines, [first, second, base], receipt_cap_percent=D(30))

    redemption._remembered.cache_clear()
    assert used
    assert plan.allocation == {("launch:v1", 2): 400, ("spring:v1", 2): 100, ("base:v1", 1): 2650}


_programs = st.tuples(
    st.lists(st.tuples(st.integers(1, 40_000), st.sets(st.sampled_from("abc"), max_size=2)), min_size=1, max_size=6),
    st.lists(st.tuples(st.integers(0, 3000), st.sets(st.sampled_from("abc"), max_size=1),
                       st.sampled_from([D(1), D("1.5"), D(2), D("0.5")]), st.sampled_from([None, D(50), D(20)]),
                       st.sampled_from([None, D(10), D(25)])), min_size=1, max_size=5),
    st.sampled_from([None, D(30), D(50)]), st.sampled_from([None, D(80)]),
    st.one_of(st.none(), st.integers(0, 5000)),
)


@settings(max_examples=300, deadline=None)
@given(program=_programs)
def test_a_plan_proven_by_the_pools_totals_is_as_good_as_the_solvers(program):
    """Carts too big for brute force: whenever the shortcut gives a plan, the solvers find no more points and no
    better redemption order."""
    raw_lines, raw_pools, receipt_cap, line_cap, requested = program
    lines = [CartLine(n, D(amount) / 4, frozenset(groups)) for n, (amount, groups) in enumerate(raw_lines, start=1)]
    pools = [Pool(f"p{i}", points, rank=i, groups=frozenset(groups), coefficient=coefficient, line_cap_percent=lc,
                  receipt_cap_percent=rc) for i, (points, groups, coefficient, lc, rc) in enumerate(raw_pools)]
    worst = len(pools)

    def planned() -> tuple[int, int, int]:
        redemption._remembered.cache_clear()
        plan = plan_redemption(lines, pools, line_cap_percent=line_cap, receipt_cap_percent=receipt_cap,
                               requested=requested)
        score = sum(n * (worst - int(key[1:])) for (key, _), n in plan.allocation.items())
        return plan.maximum, plan.points, score

    fast = planned()
    with mock.patch.object(redemption._Program, "_without_solver", return_value=None):
        slow = planned()
    redemption._remembered.cache_clear()
    assert fast == slow
