"""The redemption order is defined once (`booking.REDEMPTION_ORDERS_BY`); each of its forms draws alike.

The forms: the Python sort key the services and the cart's quote plan with, the SQL that reads a spend's
candidate lots (`statements.spendable_prefix`, its ORDER BY built from the definition) and the PostgreSQL
spend function of migrations ledger 0004/0007 (written by hand in PL/pgSQL, so held to the definition here).
The bulk seed's order is built from the definition too (tests/seed/test_bulk.py checks what it drew).
"""

from datetime import timedelta

import pytest
from django.db import transaction

from kopilka.ledger import _locking, booking, services, statements
from kopilka.ledger.booking import LotState
from kopilka.ledger.models import Account, Allocation, LotCategory

from .conftest import T0, make_member, new_key

MOMENT = T0 + timedelta(days=5)

# The lots of the story below, by number: (category, accrued, expires, points). Lots 1 and 3 share their
# accrual time, so do 2 and 6; lots 2, 3 and 9 share their expiry; "gift" shares base's rank; lot 5 has 15 of
# its points held; lot 7 is still pending at MOMENT and lot 8 has expired by then.
LOTS = {
    1: ("base", T0, T0 + timedelta(days=40), 50),
    2: ("promo", T0 + timedelta(hours=1), T0 + timedelta(days=20), 20),
    3: ("base", T0, T0 + timedelta(days=20), 30),
    4: ("gift", T0 - timedelta(hours=1), T0 + timedelta(days=60), 40),
    5: ("compensation", T0 + timedelta(hours=2), T0 + timedelta(days=10), 25),
    6: ("promo", T0 + timedelta(hours=1), T0 + timedelta(days=30), 35),
    7: ("base", T0, T0 + timedelta(days=200), 45),
    8: ("promo", T0 - timedelta(days=10), T0 + timedelta(days=1), 15),
    9: ("base", T0 + timedelta(hours=3), T0 + timedelta(days=20), 60),
}
FREE = {1: 50, 2: 20, 3: 30, 4: 40, 5: 10, 6: 35, 9: 60}  # spendable at MOMENT
# Worked out by hand from the definition: ranks promo 10, compensation 20, base and gift 30, then oldest,
# then id; or soonest expiry, then oldest, then id.
EXPECTED_ORDER = {
    booking.CATEGORY_FIFO: [2, 6, 5, 4, 1, 3, 9],
    booking.SOONEST_EXPIRING: [5, 3, 2, 9, 6, 1, 4],
}


def drawn_in_order(order: list[int], points: int) -> list[tuple[int, int]]:
    """[(lot number, points)] that a spend of `points` draws when it takes the lots in `order`."""
    plan, left = [], points
    for number in order:
        if left == 0:
            break
        take = min(FREE[number], left)
        plan.append((number, take))
        left -= take
    return plan


def the_points_to_spend() -> list[int]:
    """Every boundary of every order: one below, at and above each running total of free points."""
    totals = set()
    for order in EXPECTED_ORDER.values():
        running = 0
        for number in order:
            running += FREE[number]
            totals |= {running - 1, running, running + 1}
    return sorted(n for n in totals if 0 < n <= sum(FREE.values()))


@pytest.fixture
def story(db) -> tuple[int, dict[int, int]]:
    """A member with the lots of LOTS; returns (member id, {lot number: lot id})."""
    LotCategory.objects.create(code="gift", name="Подарочные", redemption_rank=30)
    member = make_member()
    ids = {}
    for number, (category, accrued, expires, points) in LOTS.items():
        entry = services.accrue(
            member_id=member.pk, points=points, actor="t", idempotency_key=new_key(), category=category,
            at=accrued, expires_at=expires, pending_until=T0 + timedelta(days=50) if number == 7 else None,
        )
        ids[number] = entry.lot_id
    services.hold(member_id=member.pk, points=15, lots={ids[5]: 15}, actor="t", idempotency_key=new_key(),
                  at=MOMENT)
    return member.pk, ids


def test_the_sql_order_by_is_built_from_the_definition():
    columns = {"category_rank": "c.rank", "accrued_at": "l.at", "expires_at": "l.until", "id": "l.id"}
    assert booking.redemption_order_sql(booking.CATEGORY_FIFO, columns) == "c.rank, l.at, l.id"
    soonest = booking.redemption_order_sql(booking.SOONEST_EXPIRING, columns)
    assert soonest == "l.until ASC NULLS LAST, l.at, l.id"
    one_category = booking.redemption_order_sql(booking.CATEGORY_FIFO, columns | {"category_rank": None})
    assert one_category == "l.at, l.id"
    with pytest.raises(ValueError):
        booking.redemption_order_sql("newest_first", columns)


def test_the_sort_key_puts_lots_that_never_expire_last_and_breaks_ties_by_accrual_then_id():
    def lot(id, accrued_hours, expires_days):
        expires = None if expires_days is None else T0 + timedelta(days=expires_days)
        return LotState(id, 30, T0 + timedelta(hours=accrued_hours), T0, expires, 10, 0)

    lots = [lot(1, 5, None), lot(2, 1, 9), lot(3, 0, None), lot(4, 1, 9), lot(5, 0, 9), lot(6, 0, 3)]
    ordered = sorted(lots, key=booking.redemption_key(booking.SOONEST_EXPIRING))
    assert [x.id for x in ordered] == [6, 5, 2, 4, 3, 1]


@pytest.mark.parametrize("policy", booking.REDEMPTION_ORDERS)
def test_the_python_plan_draws_in_the_defined_order(story, policy):
    member_id, ids = story
    number = {lot_id: n for n, lot_id in ids.items()}
    lots = _locking.lot_states(Account.objects.get(member_id=member_id))
    ordered = sorted((x for x in lots if x.is_spendable_at(MOMENT)), key=booking.redemption_key(policy))
    assert [number[x.id] for x in ordered] == EXPECTED_ORDER[policy]
    for points in the_points_to_spend():
        plan = booking.plan_spend(lots, points, MOMENT, policy)
        assert [(number[lot_id], n) for lot_id, n in plan] == drawn_in_order(EXPECTED_ORDER[policy], points)


@pytest.mark.postgres
@pytest.mark.parametrize("policy", booking.REDEMPTION_ORDERS)
def test_the_sql_read_and_the_spend_function_draw_in_the_defined_order(story, policy, monkeypatch):
    member_id, ids = story
    number = {lot_id: n for n, lot_id in ids.items()}
    outcomes = []
    function = statements.spend_at_once

    def spend_function(params):
        answer = function(params)
        outcomes.append(answer.outcome)
        return answer

    monkeypatch.setattr(statements, "spend_at_once", spend_function)
    for points in [*the_points_to_spend(), sum(FREE.values()) + 1]:
        expected = drawn_in_order(EXPECTED_ORDER[policy], points)
        [rows] = statements.run_together([statements.spendable_prefix(member_id, points, MOMENT, policy)])
        assert sorted(number[row[0]] for row in rows) == sorted(n for n, _ in expected)
        if points > sum(FREE.values()):
            with pytest.raises(booking.InsufficientPoints):
                services.spend(member_id=member_id, points=points, actor="t", idempotency_key=new_key(),
                               at=MOMENT, redemption_order=policy)
            continue
        with transaction.atomic():
            entry = services.spend(member_id=member_id, points=points, actor="t", idempotency_key=new_key(),
                                   at=MOMENT, redemption_order=policy)
            allocations = Allocation.objects.filter(entry=entry).order_by("id")
            drawn = [(number[a.lot_id], -a.amount) for a in allocations]
            assert drawn == expected
            transaction.set_rollback(True)
    assert outcomes == ["ok"] * len(the_points_to_spend()) + ["insufficient"]
