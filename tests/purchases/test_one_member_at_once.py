"""Every path that touches points, run at once on one member (PostgreSQL): paying orders that spend points,
events, shipping, returns, cancelling, compensation, direct ledger writes and expiry never deadlock, never lose an
update, keep budgets and limits exact and leave a ledger that reconciles."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import DatabaseError
from django.db.models import Sum

from kopilka.campaigns.events import EventOutcome, record_event
from kopilka.campaigns.models import Campaign, MemberUsage
from kopilka.core import clock
from kopilka.core.errors import ApplicationError
from kopilka.customers import services as members
from kopilka.ledger import services as ledger
from kopilka.ledger.models import Entry, Lot
from kopilka.ledger.reconcile import reconcile
from kopilka.orders.models import Order
from kopilka.purchases import flow
from kopilka.purchases.quote import CartItem
from tests.concurrency import run_at_once
from tests.factories import live_campaign

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
D = Decimal
CART = [CartItem("CREAM", D(2), D(1000), D(2000))]  # 5 % of what is paid after the points


def start(code: str, rules: dict, budget: int) -> None:
    live_campaign(code, rules, since=timedelta(days=1), budget=budget)


@pytest.fixture
def programme(db):
    """Two budgeted campaigns live — 5 % on payment within 400 points a month per member, 10 points a review."""
    start("base", {"accrual": {"reward": "percent", "percent": "5",
                               "member_limit": {"points": 400, "period": "month"}}}, budget=1_000_000)
    start("reviews", {"accrual": {"reward": "fixed", "points": 10, "scenario": "event", "event_types": ["review"]}},
          budget=1_000_000)
    member = members.create_member(actor="t", last_name="Иванова")
    ledger.accrue(member_id=member.pk, points=100_000, actor="t", idempotency_key="start", category="compensation",
                  reason_code="goodwill")
    return member.pk


def granted_by(code: str) -> int:
    """Points the campaign's accruals hold net of what returns took back."""
    return Entry.objects.filter(source_kind="campaign", source_ref__startswith=f"{code}:").aggregate(
        total=Sum("amount"))["total"] or 0


def test_every_path_at_once_on_one_member_succeeds_or_refuses_and_the_numbers_hold(programme):
    member = programme
    paid = [flow.place_order(flow.NewOrder("pos", f"P-{n}", CART, member_id=member, points=100, paid=True),
                             actor="pos") for n in range(6)]
    burning = ledger.accrue(member_id=member, points=50, actor="t", idempotency_key="burning", category="base",
                            at=clock.now() - timedelta(days=3), lifetime_days=1)
    work = (
        [lambda n=n: flow.pay(flow.place_order(flow.NewOrder("pos", f"N-{n}", CART, member_id=member, points=100),
                                               actor="pos").pk, actor="pos") for n in range(6)]
        + [lambda n=n: record_event(member_id=member, type="review", key=f"review-{n}", actor="site")
           for n in range(6)]
        + [lambda o=o: flow.ship(o.pk, actor="wms") for o in paid[:3]]
        + [lambda o=o: flow.return_items(o.pk, {1: D(1)}, actor="pos", key="r") for o in paid[3:5]]
        + [lambda: flow.cancel(paid[5].pk, actor="pos")]
        + [lambda n=n: ledger.adjust(member_id=member, points=25, reason_code="goodwill", actor="agent",
                                     idempotency_key=f"comp-{n}") for n in range(2)]
        + [lambda: ledger.spend(member_id=member, points=30, actor="shop", idempotency_key="direct")]
        + [lambda: ledger.expire(as_of=clock.now())]
    )

    results = run_at_once(len(work), lambda i: work[i]())

    failures = [r for r in results if isinstance(r, DatabaseError | Exception) and not isinstance(r, ApplicationError)]
    assert failures == []
    assert [r for r in results if isinstance(r, ApplicationError)] == []
    assert sum(isinstance(r, EventOutcome) and r.event.points == 10 for r in results) == 6
    assert Order.objects.filter(status="paid", external_id__startswith="N-").count() == 6
    assert Entry.objects.filter(kind="spend", source_kind="order").aggregate(s=Sum("amount"))["s"] == -1200
    assert Lot.objects.get(pk=burning.lot_id).remaining == 0
    for code in ("base", "reviews"):
        campaign = Campaign.objects.get(code=code)
        assert campaign.budget_spent == granted_by(code), code
    assert MemberUsage.objects.get(campaign__code="base").points == granted_by("base")
    assert granted_by("base") <= 400
    assert granted_by("reviews") == 60
    assert reconcile().clean


def test_members_paying_at_once_under_three_budgets_each_get_their_points(programme):
    start("promo", {"accrual": {"reward": "percent", "percent": "1"}}, budget=1_000)
    people = [members.create_member(actor="t", last_name=f"Участник {i}").pk for i in range(12)]

    results = run_at_once(12, lambda i: flow.place_order(
        flow.NewOrder("pos", f"R-{i}", CART, member_id=people[i], paid=True), actor="pos"))

    assert [r for r in results if not isinstance(r, Order)] == []
    assert granted_by("base") == 12 * 100 and granted_by("promo") == 12 * 20
    for code in ("base", "reviews", "promo"):
        assert Campaign.objects.get(code=code).budget_spent == granted_by(code)
    assert reconcile().clean


def test_the_last_points_of_a_budget_go_to_exactly_one_of_the_members_paying_at_once(programme):
    start("promo", {"accrual": {"reward": "fixed", "points": 300}}, budget=1_000)
    people = [members.create_member(actor="t", last_name=f"Участник {i}").pk for i in range(8)]

    results = run_at_once(8, lambda i: flow.place_order(
        flow.NewOrder("pos", f"R-{i}", CART, member_id=people[i], paid=True), actor="pos"))

    assert [r for r in results if not isinstance(r, Order)] == []
    promo = sorted(Entry.objects.filter(source_ref="promo:v1").values_list("amount", flat=True))
    assert promo == [100, 300, 300, 300]
    assert Campaign.objects.get(code="promo").budget_spent == 1_000
    assert reconcile().clean


@pytest.fixture
def shop(caller_with):
    return caller_with("purchases:read", "purchases:write", "events:write")


def test_the_issues_load_over_http_pays_every_order_and_records_every_review(programme, shop):
    """6 clients each place and pay 6 orders spending 100 points while 6 others each post 6 reviews, all for one
    member: every request succeeds (before: most ended in an HTML page "deadlock detected")."""
    member = programme
    body = {"member": {"id": member}, "lines": [{"sku": "CREAM", "quantity": 2, "price": "1000"}], "points": 100}

    def client(i: int) -> list[int]:
        statuses = []
        for n in range(6):
            if i < 6:
                placed = shop.post("/api/v1/purchases/", {**body, "order_id": f"H-{i}-{n}"}, key=f"place-{i}-{n}")
                statuses.append(placed.status_code)
                if placed.status_code == 201:
                    statuses.append(shop.post(f"/api/v1/purchases/{placed.json()['id']}/pay", {},
                                              key=f"pay-{i}-{n}").status_code)
            else:
                statuses.append(shop.post("/api/v1/events/", {"member": {"id": member}, "type": "review"},
                                          key=f"review-{i}-{n}").status_code)
        return statuses

    results = run_at_once(12, client)

    assert [r for r in results if not isinstance(r, list)] == []
    assert sorted({s for r in results for s in r}) == [200, 201]  # paid, placed and recorded
    assert Order.objects.filter(status="paid").count() == 36
    assert granted_by("reviews") == 360
    assert Campaign.objects.get(code="reviews").budget_spent == 360
    assert reconcile().clean
