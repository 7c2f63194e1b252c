"""The pure booking rules, by example and by property."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kopilka.ledger import booking
from kopilka.ledger.booking import LotState
from kopilka.ledger.errors import InsufficientPoints

NOW = datetime(2026, 6, 1, tzinfo=UTC)
BASE, PROMO = 30, 10


def lot(id, rank=BASE, accrued_days_ago=10, expires_in=100, remaining=100, held=0, active_in=None):
    return LotState(
        id=id,
        category_rank=rank,
        accrued_at=NOW - timedelta(days=accrued_days_ago),
        activates_at=NOW + timedelta(days=active_in) if active_in else NOW - timedelta(days=accrued_days_ago),
        expires_at=None if expires_in is None else NOW + timedelta(days=expires_in),
        remaining=remaining,
        held=held,
    )


def test_only_base_lots_are_spent_oldest_first():
    lots = [lot(1, accrued_days_ago=5), lot(2, accrued_days_ago=50), lot(3, accrued_days_ago=20)]
    assert booking.plan_spend(lots, 250, NOW, booking.CATEGORY_FIFO) == [(2, 100), (3, 100), (1, 50)]


def test_promo_is_spent_before_base_each_oldest_first():
    lots = [lot(1, BASE, 90), lot(2, PROMO, 5), lot(3, PROMO, 30), lot(4, BASE, 10)]
    assert booking.plan_spend(lots, 320, NOW, booking.CATEGORY_FIFO) == [(3, 100), (2, 100), (1, 100), (4, 20)]


def test_soonest_expiring_first_ignores_category():
    lots = [lot(1, PROMO, expires_in=300), lot(2, BASE, expires_in=10), lot(3, BASE, expires_in=None)]
    assert booking.plan_spend(lots, 150, NOW, booking.SOONEST_EXPIRING) == [(2, 100), (1, 50)]


def test_pending_expired_and_held_points_are_not_spendable():
    lots = [lot(1, active_in=3), lot(2, expires_in=0), lot(3, held=70), lot(4, expires_in=-1)]
    assert booking.spendable(lots, NOW) == 30
    with pytest.raises(InsufficientPoints) as refused:
        booking.plan_spend(lots, 31, NOW, booking.CATEGORY_FIFO)
    assert refused.value.details == {"requested": 31, "available": 30}


@pytest.mark.parametrize(
    "policy, free, wanted, expected",
    [
        (booking.TAKE_AVAILABLE, 100, 60, booking.TakeBack(60, 0, 0)),
        (booking.TAKE_AVAILABLE, 20, 60, booking.TakeBack(20, 0, 40)),
        (booking.NEGATIVE, 20, 60, booking.TakeBack(20, 40, 0)),
        (booking.NEGATIVE, 0, 60, booking.TakeBack(0, 60, 0)),
        (booking.BLOCK, 60, 60, booking.TakeBack(60, 0, 0)),
        (booking.BLOCK, 59, 60, None),
    ],
)
def test_take_back_follows_the_return_policy(policy, free, wanted, expected):
    assert booking.plan_take_back(free, wanted, policy) == expected


def test_restore_refills_last_drawn_lot_first_and_never_overfills():
    drawn = [(7, 50), (3, 30), (9, 20)]
    assert booking.plan_restore(drawn, {}, 40) == [(9, 20), (3, 20)]
    assert booking.plan_restore(drawn, {9: 20, 3: 20}, 60) == [(3, 10), (7, 50)]
    with pytest.raises(InsufficientPoints):
        booking.plan_restore(drawn, {9: 20, 3: 20}, 61)


def test_settlement_pays_oldest_debt_first():
    assert booking.plan_settlement([(1, 30), (2, 50)], 60) == [(1, 30), (2, 30)]
    assert booking.plan_settlement([(1, 30)], 100) == [(1, 30)]
    assert booking.plan_settlement([], 100) == []


lots_strategy = st.lists(
    st.builds(
        lot,
        id=st.integers(1, 10_000),
        rank=st.sampled_from([PROMO, 20, BASE]),
        accrued_days_ago=st.integers(0, 400),
        expires_in=st.one_of(st.none(), st.integers(-30, 400)),
        remaining=st.integers(1, 500),
        held=st.integers(0, 500),
        active_in=st.one_of(st.none(), st.integers(1, 30)),
    ).filter(lambda s: s.held <= s.remaining),
    max_size=12,
    unique_by=lambda s: s.id,
)


@given(lots=lots_strategy, points=st.integers(1, 3000), policy=st.sampled_from(booking.REDEMPTION_ORDERS))
def test_spend_plan_is_exact_and_draws_only_spendable_free_points(lots, points, policy):
    by_id = {s.id: s for s in lots}
    try:
        plan = booking.plan_spend(lots, points, NOW, policy)
    except InsufficientPoints as refused:
        assert booking.spendable(lots, NOW) < points
        assert refused.details["available"] == booking.spendable(lots, NOW)
        return
    assert sum(n for _, n in plan) == points
    assert len({lot_id for lot_id, _ in plan}) == len(plan)
    for lot_id, n in plan:
        assert 0 < n <= by_id[lot_id].free
        assert by_id[lot_id].is_spendable_at(NOW)
    # Every lot but the last in the plan is drained: nothing later in the order is touched before it.
    assert all(n == by_id[lot_id].free for lot_id, n in plan[:-1])
    order = sorted((s for s in lots if s.is_spendable_at(NOW)), key=booking.redemption_key(policy))
    assert [lot_id for lot_id, _ in plan] == [s.id for s in order[: len(plan)]]


@given(
    drawn=st.lists(st.tuples(st.integers(1, 50), st.integers(1, 100)), min_size=1, max_size=6,
                   unique_by=lambda t: t[0]),
    data=st.data(),
)
def test_restores_never_exceed_what_was_drawn(drawn, data):
    restored: dict[int, int] = {}
    total = sum(n for _, n in drawn)
    while sum(restored.values()) < total:
        points = data.draw(st.integers(1, total - sum(restored.values())))
        for lot_id, n in booking.plan_restore(drawn, restored, points):
            restored[lot_id] = restored.get(lot_id, 0) + n
    assert restored == dict(drawn)
