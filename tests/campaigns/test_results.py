"""A campaign's results, worked by hand: a budgeted spring campaign whose budget cut a grant, whose rules got a
second version, one of whose lots was partly spent and then burned, one taken back by a return; and an event
campaign whose grants have no purchase and whose member limit cut one. Periods are programme days (Moscow)."""

from datetime import timedelta
from decimal import Decimal

import pytest

from kopilka.campaigns import services as campaigns
from kopilka.campaigns.events import record_event
from kopilka.campaigns.models import Campaign
from kopilka.campaigns.results import Budget, Day, Figures, Period, results, summaries
from kopilka.catalog import services as catalog
from kopilka.core import clock
from kopilka.customers import services as members
from kopilka.ledger import services as ledger
from kopilka.ledger.models import Entry
from kopilka.ledger.reconcile import reconcile
from kopilka.orders.models import Order
from kopilka.purchases import flow
from kopilka.purchases.quote import CartItem
from tests.factories import live_campaign

pytestmark = pytest.mark.django_db
D = Decimal


def buy(who, external_id: str, creams: int, at=None) -> Order:
    """A paid receipt of `creams` creams at 1 000 ₽ each."""
    items = [CartItem("CREAM", D(creams), D(1000), D(1000 * creams))]
    return flow.place_order(flow.NewOrder(source="pos", external_id=external_id, items=items, member_id=who.pk,
                                          purchased_at=at, paid=True), actor="pos:1")


def spring_story() -> dict:
    """Day D is ten programme days ago. On D at noon Anna buys for 1 000 ₽ (spring grants 100 points, 10 %); at
    23:59 Moscow time Boris buys for 2 000 ₽ (200 points); at 00:00 of D + 1 — still day D in UTC — Anna buys for
    1 500 ₽: the rule wants 150 points, the budget of 400 has 100 left and grants them. Boris returns his receipt
    (the 200 points are taken back and go back to the budget); Anna spends 60 points on D + 2, from her first lot.
    The marketer then raises the budget to 1 000 and lowers the reward to 5 % (version 2); Vera buys for 2 000 ₽
    now (100 points). Lots burn 9 days after the day they were granted: Anna's first lot has burned its last 40
    points by now, her second holds its 100 until tonight. Boris writes two reviews (50 points each; at most 80 a
    month)."""
    catalog.upsert_group(code="care", name="Уход")
    catalog.upsert_products([{"sku": "CREAM", "name": "Крем", "price": "1000", "group": "care"}])
    long_ago = clock.now() - timedelta(days=90)
    anna = members.create_member(actor="t", last_name="Иванова", registered_at=long_ago)
    boris = members.create_member(actor="t", last_name="Борисов", registered_at=long_ago)
    vera = members.create_member(actor="t", last_name="Веселова", registered_at=long_ago)
    spring = live_campaign("spring", {"accrual": {"reward": "percent", "percent": "10"},
                                      "expiry": {"kind": "days", "days": 9}}, type="promo", budget=400)
    live_campaign("reviews", {"accrual": {"reward": "fixed", "points": 50, "scenario": "event",
                                          "event_types": ["review"],
                                          "member_limit": {"points": 80, "period": "month"}}})
    live_campaign("quiet", {"accrual": {"reward": "fixed", "points": 5, "scenario": "event",
                                        "event_types": ["subscription"]}})
    day = clock.local_date(clock.now()) - timedelta(days=10)
    midnight = clock.end_of_day(day)  # 00:00 of D + 1 in Moscow: 21:00 UTC of D
    buy(anna, "A1", 1, clock.start_of_day(day) + timedelta(hours=12))
    boris_receipt = buy(boris, "B1", 2, midnight - timedelta(minutes=1))
    buy(anna, "A2", D("1.5"), midnight)
    flow.return_items(boris_receipt.pk, {1: D(2)}, actor="support:1", key="back")
    ledger.spend(member_id=anna.pk, points=60, actor="pos:1", idempotency_key="spend-1",
                 at=clock.start_of_day(day + timedelta(days=2)) + timedelta(hours=10))
    campaigns.update_campaign(code="spring", actor="t", budget_points=1000)
    campaigns.update_rules(code="spring", actor="t", rules={"accrual": {"reward": "percent", "percent": "5"},
                                                           "expiry": {"kind": "days", "days": 9}})
    buy(vera, "V1", 2)
    record_event(member_id=boris.pk, type="review", key="review-1", actor="t")
    record_event(member_id=boris.pk, type="review", key="review-2", actor="t")
    ledger.expire(as_of=clock.now())
    assert reconcile().clean
    spring.refresh_from_db()
    return {"day": day, "spring": spring, "anna": anna}


@pytest.fixture
def story(db):
    return spring_story()


def test_each_grant_keeps_the_points_its_rule_wanted_before_the_budget_cut_them(story):
    grants = Entry.objects.filter(kind="accrual", source_kind="campaign").order_by("pk")
    assert [(e.source_ref, e.amount, e.details) for e in grants] == [
        ("spring:v1", 100, {"desired": 100}), ("spring:v1", 200, {"desired": 200}),
        ("spring:v1", 100, {"desired": 150}), ("spring:v2", 100, {"desired": 100}),
        ("reviews:v1", 50, {"desired": 50}), ("reviews:v1", 30, {"desired": 50}),
    ]


def test_a_campaigns_results_over_its_whole_life_in_total_and_by_version(story, django_assert_num_queries):
    with django_assert_num_queries(10):
        shown = results(story["spring"])

    # v1: 100 + 200 + 100 granted of 100 + 200 + 150 wanted; Anna's first lot: 60 spent, 40 burned; Boris's 200
    # taken back with his returned receipt, which no longer counts; Anna's second lot still holds its 100.
    first = Figures(members=2, grants=3, desired=450, granted=400, spent=60, burned=40, taken_back=200,
                    outstanding=100, receipts=2, revenue=D("2500.00"))
    second = Figures(members=1, grants=1, desired=100, granted=100, outstanding=100, receipts=1,
                     revenue=D("2000.00"))
    assert [(v.reference, v.number, v.figures) for v in shown.versions] == [("spring:v1", 1, first),
                                                                             ("spring:v2", 2, second)]
    assert shown.total == Figures(members=3, grants=4, desired=550, granted=500, spent=60, burned=40, taken_back=200,
                                  outstanding=200, receipts=3, revenue=D("4500.00"))
    assert shown.total.cut == 50
    total = shown.total
    assert total.granted == total.spent + total.burned + total.taken_back + total.outstanding
    # 400 granted, 200 given back by the return, 800 more when the budget was raised to 1 000, 100 granted since
    assert shown.budget == Budget(points=1000, used=300, left=700)


def test_a_period_is_whole_programme_days_so_a_receipt_at_midnight_moscow_time_falls_on_the_next_day(story):
    day, spring = story["day"], story["spring"]

    on_the_day = results(spring, Period(day, day)).total
    next_day = results(spring, Period(day + timedelta(days=1), day + timedelta(days=1))).total

    assert on_the_day == Figures(members=2, grants=2, desired=300, granted=300, spent=60, burned=40,
                                 taken_back=200, receipts=1, revenue=D("1000.00"))
    assert next_day == Figures(members=1, grants=1, desired=150, granted=100, outstanding=100, receipts=1,
                               revenue=D("1500.00"))
    assert results(spring, Period(day - timedelta(days=3), day - timedelta(days=1))).total == Figures()
    assert results(spring, Period(end=day + timedelta(days=1))).total.granted == 400
    assert results(spring, Period(start=day + timedelta(days=1))).total.granted == 200


def test_the_days_of_the_period_each_with_its_grants_and_the_purchases_that_earned(story):
    day = story["day"]

    days = results(story["spring"]).days

    assert len(days) == 11  # D to today
    assert days[0] == Day(day, members=2, desired=300, granted=300, receipts=1, revenue=D("1000.00"))
    assert days[1] == Day(day + timedelta(days=1), members=1, desired=150, granted=100, receipts=1,
                          revenue=D("1500.00"))
    assert days[2:10] == [Day(day + timedelta(days=n)) for n in range(2, 10)]
    assert days[10] == Day(day + timedelta(days=10), members=1, desired=100, granted=100, receipts=1,
                           revenue=D("2000.00"))
    chosen = results(story["spring"], Period(day - timedelta(days=1), day + timedelta(days=1))).days
    assert [d.day for d in chosen] == [day - timedelta(days=1), day, day + timedelta(days=1)]
    assert sum(d.revenue for d in days) == results(story["spring"]).total.revenue


def test_grants_for_events_count_members_and_points_and_no_purchase(story):
    reviews = results(Campaign.objects.get(code="reviews"))

    # the second review wanted 50 points; the member limit of 80 a month left 30
    assert reviews.total == Figures(members=1, grants=2, desired=100, granted=80, outstanding=80)
    assert reviews.budget is None
    assert [d.granted for d in reviews.days] == [80]
    assert results(Campaign.objects.get(code="quiet")).total == Figures()
    assert results(Campaign.objects.get(code="quiet")).days == []


def test_the_list_of_campaigns_reads_every_campaigns_columns_in_one_statement(story, django_assert_num_queries):
    day = story["day"]
    ids = dict(Campaign.objects.values_list("code", "pk"))

    with django_assert_num_queries(1):
        every = summaries()
    on_the_day = summaries(Period(day, day))

    assert (every[ids["spring"]].members, every[ids["spring"]].desired, every[ids["spring"]].granted) == (3, 550, 500)
    assert every[ids["spring"]].budget == Budget(1000, 300, 700)
    assert (every[ids["reviews"]].members, every[ids["reviews"]].granted, every[ids["reviews"]].budget) == (1, 80,
                                                                                                          None)
    assert (every[ids["quiet"]].members, every[ids["quiet"]].granted) == (0, 0)
    assert (on_the_day[ids["spring"]].members, on_the_day[ids["spring"]].granted) == (2, 300)
    assert on_the_day[ids["reviews"]].granted == 0
    assert on_the_day[ids["spring"]].budget == Budget(1000, 300, 700)  # the budget is as it stands now


def test_grants_booked_before_the_desired_points_were_kept_count_as_granted(story):
    anna = story["anna"]
    ledger.accrue(member_id=anna.pk, points=70, actor="t", idempotency_key="old-grant", category="promo",
                  source=ledger.Source("campaign", "spring:v1"), at=clock.now() - timedelta(days=40))

    total = results(story["spring"]).total

    assert (total.grants, total.desired, total.granted, total.without_desired) == (5, 620, 570, 1)
