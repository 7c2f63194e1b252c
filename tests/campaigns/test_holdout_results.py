"""A promo campaign's members exposed against those it held out, in a period: counts and sums worked by hand."""

from datetime import timedelta
from decimal import Decimal

import pytest

from kopilka.campaigns import holdout
from kopilka.campaigns.holdout_results import Group, compare
from kopilka.campaigns.results import Period
from kopilka.core import clock, programme
from kopilka.core import holdout as control_group
from kopilka.customers import services as members
from kopilka.ledger import services as ledger
from kopilka.orders.models import Order
from tests import factories

pytestmark = pytest.mark.django_db
RULES = {"accrual": {"reward": "percent", "percent": "5"}, "holdout_percent": "50"}


def holdout_story():
    """Eight members of a promo campaign live for 60 days holding out half. In the last ten days member i (0 … 7)
    got 10 · (i + 1) points; the even ones bought for (i + 1) · 100.50 ₽; member 2 spent 5 points and 7 points of
    member 4 burned. Outside the comparison: an order and a gift before the period, a cancelled order, and a member
    who registered during it."""
    campaign = factories.live_campaign("spring", RULES, type="promo")
    now = clock.now()
    people = [members.create_member(actor="t", last_name=f"Участник-{i}", registered_at=now - timedelta(days=100))
              for i in range(8)]
    late = members.create_member(actor="t", last_name="Новый", registered_at=now - timedelta(days=2))
    for i, who in enumerate(people):
        factories.gift(who.pk, 10 * (i + 1), days_ago=5)
        if i % 2 == 0:
            factories.stored_order(who, now - timedelta(days=3), Decimal("100.50") * (i + 1))
    factories.stored_order(people[1], now - timedelta(days=30), "999.00")
    factories.stored_order(people[3], now - timedelta(days=2), "500.00", status=Order.Status.CANCELLED)
    factories.stored_order(late, now - timedelta(days=1), "700.00")
    factories.gift(people[0].pk, 1000, days_ago=20)
    ledger.spend(member_id=people[2].pk, points=5, actor="t", idempotency_key="spend-2",
                 at=now - timedelta(days=3))
    factories.gift(people[4].pk, 7, days_ago=4, expires_at=now - timedelta(days=1))
    ledger.expire(as_of=now)
    return campaign, people


def _expected(indexes: list[int]) -> Group:
    """The figures of the members with these indexes, by the story's rules."""
    bought = [Decimal("100.50") * (i + 1) for i in indexes if i % 2 == 0]
    return Group(members=len(indexes), converted=len(bought), revenue=sum(bought, Decimal("0.00")),
                 revenue_squares=float(sum(b * b for b in bought)),
                 accrued=sum(10 * (i + 1) for i in indexes) + (7 if 4 in indexes else 0),
                 spent=5 if 2 in indexes else 0, burned=7 if 4 in indexes else 0)


def _period() -> Period:
    today = clock.local_date(clock.now())
    return Period(today - timedelta(days=10), today)


def test_exposed_and_held_out_members_with_what_they_bought_and_their_points():
    campaign, people = holdout_story()
    held = [i for i, who in enumerate(people) if holdout.held_out(who.pk, "spring", Decimal(50))]
    exposed = [i for i in range(8) if i not in held]

    found = compare(campaign, _period())

    assert held and exposed  # the hash put members in both groups
    assert (found.version, found.share, found.in_programme_group) == (1, Decimal(50), 0)
    assert found.exposed == _expected(exposed)
    assert found.held_out == _expected(held)
    assert found.since == clock.start_of_day(_period().start)
    assert found.exposed.conversion == len([i for i in exposed if i % 2 == 0]) / len(exposed)


def test_members_of_the_programme_group_in_any_month_of_the_period_are_left_out_of_both():
    campaign, people = holdout_story()
    programme.change({"CONTROL_GROUP_PERCENT": "40"}, actor="t")
    found = compare(campaign, _period())

    months = {clock.local_date(found.since).replace(day=1), clock.local_date(found.until).replace(day=1)}
    moments = [clock.start_of_day(month) for month in months]
    left = {i for i, who in enumerate(people)
            if any(control_group.held_out(who.pk, control_group.month_salt(m), Decimal(40)) for m in moments)}
    held = [i for i, who in enumerate(people) if i not in left and holdout.held_out(who.pk, "spring", Decimal(50))]
    exposed = [i for i in range(8) if i not in left and i not in held]

    assert found.in_programme_group == len(left)
    assert (found.exposed, found.held_out) == (_expected(exposed), _expected(held))


def test_a_campaign_that_is_not_a_promo_offer_has_no_comparison():
    campaign = factories.live_campaign("base", {"accrual": {"reward": "percent", "percent": "5"}}, type="base")

    assert compare(campaign, _period()) is None
