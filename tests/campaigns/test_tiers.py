"""Tiers: upgrade at once, downgrade at the review, a floor, a paid subscription, tier percents and conditions."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import transaction

from kopilka.campaigns import services as campaigns
from kopilka.campaigns.conditions import parse
from kopilka.campaigns.eligibility import eligible_members
from kopilka.core import clock
from kopilka.customers import services as members
from kopilka.purchases import flow
from kopilka.purchases.quote import CartItem
from kopilka.tiers import services as tiers
from kopilka.tiers.models import MemberTier, Tier, TierChange

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def programme(db, settings):
    settings.KOPILKA = {**settings.KOPILKA, "BACKDATING_DAYS": 400}  # a year of receipts through the till flow
    tiers.upsert_tier(code="silver", name="Серебро", rank=1, basis="turnover", threshold=D(0), window_days=365)
    tiers.upsert_tier(code="gold", name="Золото", rank=2, basis="turnover", threshold=D(50000), window_days=365)
    tiers.upsert_tier(code="platinum", name="Платина", rank=3, basis="subscription")
    campaigns.create_campaign(code="base", name="Базовая", type="base", starts_at=clock.now() - timedelta(days=400),
                              actor="t", rules={"accrual": {"reward": "percent", "percent": "3",
                                                            "tier_percents": {"gold": "5", "platinum": "7"}}})
    campaigns.change_status(code="base", action="activate", actor="t", now=clock.now() - timedelta(days=400))
    return members.create_member(actor="t", last_name="Иванова", registered_at=clock.now() - timedelta(days=400))


def buy(member, n, amount, days_ago=0):
    return flow.place_order(flow.NewOrder(source="pos", external_id=f"R-{n}", member_id=member.pk, paid=True,
                                          items=[CartItem("ANY", D(1), D(amount), D(amount))],
                                          purchased_at=clock.now() - timedelta(days=days_ago)), actor="pos")


def first_of_month_at_noon(moment: datetime) -> datetime:
    """A review day in every time zone of Russia, whatever the hour the suite runs at."""
    return datetime(moment.year, moment.month, 1, 12, tzinfo=UTC)


def earned(order) -> int:
    return order.points.get(kind="earn").points


def test_a_purchase_that_crosses_the_threshold_upgrades_at_once_and_the_next_earns_the_tiers_percent(programme):
    first = buy(programme, 1, 30000)
    assert MemberTier.objects.get().tier.code == "silver"
    second = buy(programme, 2, 30000)
    third = buy(programme, 3, 10000)

    assert [earned(o) for o in (first, second, third)] == [900, 900, 500]
    assert MemberTier.objects.get().tier.code == "gold"
    assert list(TierChange.objects.values_list("from_tier", "to_tier")) == [("", "silver"), ("silver", "gold")]


def test_what_the_next_tier_needs(programme):
    buy(programme, 1, 12000.5)

    progress = tiers.progress(programme.pk)

    assert (progress.tier.code, progress.next_tier.code, progress.measure, progress.needed) == (
        "silver", "gold", D("12000.50"), D("37999.50"),
    )


def test_a_downgrade_waits_for_the_review_on_the_first_of_the_month_and_stops_at_the_floor(programme):
    buy(programme, 1, 60000, days_ago=300)
    assert MemberTier.objects.get().tier.code == "gold"
    later = clock.now() + timedelta(days=100)  # the purchase has left the 365-day window

    assert tiers.recompute(programme.pk, actor="t", now=later).tier.code == "gold"
    review = first_of_month_at_noon(clock.add_months(later, 1))
    assert tiers.review_all(now=review + timedelta(days=14)) == 0  # not a review day
    assert tiers.review_all(now=review) == 1
    assert MemberTier.objects.get().tier.code == "silver"

    tiers.set_floor(programme.pk, "gold", actor="support:1", reason="VIP по решению директора")
    tiers.review_all(now=clock.add_months(review, 1))
    assert MemberTier.objects.get().tier.code == "gold"


def test_a_paid_subscription_gives_its_tier_for_its_term(programme):
    tiers.subscribe(programme.pk, "platinum", months=3, actor="site")

    assert earned(buy(programme, 1, 1000)) == 70
    state = MemberTier.objects.get()
    assert state.tier.code == "platinum"
    tiers.review_all(now=first_of_month_at_noon(clock.add_months(state.subscription_until, 1)))
    assert MemberTier.objects.get().tier.code == "silver"


def test_tiers_are_conditions_too(programme):
    buy(programme, 1, 60000)
    gold = parse({"type": "tier", "tiers": ["gold"]})

    assert list(eligible_members(gold).values_list("pk", flat=True)) == [programme.pk]


def test_the_tiers_api(caller_with, programme):
    marketer = caller_with("campaigns:write", "members:read", "members:write")
    response = marketer.put("/api/v1/tiers/bronze", {"name": "Бронза", "rank": 0, "threshold": "0"}, key="t-1")
    taken = marketer.put("/api/v1/tiers/copper", {"name": "Медь", "rank": 0}, key="t-2")
    buy(programme, 1, 1000)

    assert response.status_code == 201
    assert (taken.status_code, taken.json()["code"]) == (422, "tier_rank_taken")
    body = marketer.get(f"/api/v1/tiers/members/{programme.pk}").json()
    assert (body["tier"], body["next_tier"], body["needed"]) == ("silver", "gold", "49000.00")
    floor = marketer.post(f"/api/v1/tiers/members/{programme.pk}/floor", {"tier": "gold", "reason": "VIP"}, key="f-1")
    assert floor.json()["tier"] == "gold"


@pytest.mark.parametrize("change", [{}, {"floor": "platinum"}, {"subscription_tier": "platinum", "days": 30},
                                    {"subscription_tier": "platinum", "days": -1}, {"tier": "gold"}])
def test_the_rise_after_a_purchase_moves_the_member_as_recompute_does_between_reviews(programme, change):
    buy(programme, 1, 60000)
    by_code = {tier.code: tier for tier in Tier.objects.all()}
    MemberTier.objects.update(
        tier=by_code[change.get("tier", "silver")], floor=by_code.get(change.get("floor", "")),
        subscription_tier=by_code.get(change.get("subscription_tier", "")),
        subscription_until=clock.now() + timedelta(days=change["days"]) if "days" in change else None,
    )
    outcomes = []
    for move in (tiers.rise, tiers.recompute):
        with transaction.atomic():
            state = move(programme.pk, actor="t")
            outcomes.append((state.tier.code, list(TierChange.objects.values_list("from_tier", "to_tier", "reason"))))
            transaction.set_rollback(True)
    assert outcomes[0] == outcomes[1]
