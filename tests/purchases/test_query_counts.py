"""The work of each step of the purchase path is bounded (PostgreSQL): a fixed number of statements, whatever the
member's history and however many campaigns are live — no read of the whole history, no query per lot, line or
campaign. A change that adds statements to a step fails here; a change that saves some updates the numbers."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kopilka.api.order_answer import order_json
from kopilka.campaigns.events import record_event
from kopilka.catalog import services as catalog
from kopilka.core import clock
from kopilka.core import programme as programme_settings
from kopilka.customers import services as members
from kopilka.ledger import reference
from kopilka.ledger import services as ledger
from kopilka.orders.models import Order
from kopilka.purchases import flow
from kopilka.purchases.quote import CartItem, quote
from kopilka.tiers import services as tiers
from tests.factories import live_campaign

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
D = Decimal
CART = [CartItem("HA-1", D(1), D(10000), D(10000)), CartItem("CREAM", D(2), D(1000), D(2000)),
        CartItem("NEEDLE", D(10), D(50), D(500))]
# What each step costs, in statements, for a member whom eight campaigns reward on payment. Paying books an entry
# and a lot per campaign through the ledger (three statements an accrual) and a return one reversal entry per
# campaign (in one batch), so those two grow with the number of campaigns that apply, never with the history; each of
# the two writes its outbox event (order.paid, order.returned) with one statement.
EXPECTED = {"evaluate": 6, "place": 9, "pay": 20, "ship": 13, "return": 34, "event": 15}


@pytest.fixture(autouse=True)
def settings_stay_cached(monkeypatch):
    """The programme's settings and point categories stay cached through the test, as between a running server's
    refreshes: how slow a busy machine runs the steps must not change what they count."""
    monkeypatch.setattr(programme_settings, "CACHE_SECONDS", 3600.0)
    monkeypatch.setattr(reference, "MAX_AGE_SECONDS", 3600.0)


@pytest.fixture
def programme(db):
    """Ten live campaigns (three with budgets, one with a member limit, four with conditions on the history), two
    tiers by turnover and points."""
    catalog.upsert_group(code="fillers", name="Филлеры")
    catalog.upsert_group(code="care", name="Уход")
    catalog.upsert_products([
        {"sku": "HA-1", "name": "Филлер", "price": "10000", "group": "fillers"},
        {"sku": "CREAM", "name": "Крем", "price": "1000", "group": "care"},
        {"sku": "NEEDLE", "name": "Игла", "price": "50"},
    ])
    tiers.upsert_tier(code="silver", name="Серебро", rank=1, basis="turnover", threshold=D(0), window_days=365)
    tiers.upsert_tier(code="gold", name="Золото", rank=2, basis="points", threshold=D(100_000), window_days=180)
    start = clock.now() - timedelta(days=400)
    definitions = [
        ("base", {"accrual": {"reward": "percent", "percent": "3"}}, None),
        ("fillers", {"accrual": {"reward": "percent", "percent": "2", "include_groups": ["fillers"]}}, 1_000_000),
        ("regulars", {"conditions": {"type": "orders", "op": "ge", "value": 3, "within_days": 365},
                      "accrual": {"reward": "fixed", "points": 50}}, 1_000_000),
        ("big-spenders", {"conditions": {"type": "spent", "op": "gt", "value": "20000"},
                          "accrual": {"reward": "fixed", "points": 70}}, None),
        ("care-fans", {"conditions": {"type": "purchased", "groups": ["care"], "within_days": 90},
                       "accrual": {"reward": "percent", "percent": "1",
                                   "member_limit": {"points": 100_000, "period": "month"}}}, 1_000_000),
        ("active", {"conditions": {"type": "lifecycle", "stages": ["active", "new"]},
                    "accrual": {"reward": "fixed", "points": 10}}, None),
        ("delivery", {"accrual": {"reward": "fixed", "points": 20, "scenario": "shipment"}}, None),
        ("reviews", {"accrual": {"reward": "fixed", "points": 15, "scenario": "event", "event_types": ["review"]}},
         None),
        ("needles", {"accrual": {"reward": "fixed", "points": 5, "include_groups": ["fillers"], "min_order": "5000"}},
         None),
        ("weekend", {"accrual": {"reward": "percent", "percent": "1", "multiplier": "2"}}, None),
    ]
    for code, rules, budget in definitions:
        live_campaign(code, rules, since=start, budget=budget)


def member_with(orders: int):
    """A member with points in ten lots and `orders` paid orders over the last months."""
    member = members.create_member(actor="t",
                                   last_name=f"Участник {orders}", registered_at=clock.now() - timedelta(days=300))
    for n in range(10):
        ledger.accrue(member_id=member.pk, points=1000, actor="t", idempotency_key=f"{member.pk}-gift-{n}",
                      category="compensation", reason_code="goodwill")
    for n in range(orders):
        flow.place_order(flow.NewOrder("pos", f"{member.pk}-old-{n}", CART, member_id=member.pk, paid=True,
                                       purchased_at=clock.now() - timedelta(days=n % 25)), actor="pos")
    return member


def statements(step) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as queries:
        result = step()
    return len(queries.captured_queries), result


def costs(member) -> dict[str, int]:
    counts = {}
    counts["evaluate"], _ = statements(lambda: quote(member.pk, CART, requested=None))
    counts["place"], placed = statements(lambda: flow.place_order(
        flow.NewOrder("pos", f"{member.pk}-new", CART, member_id=member.pk, points=500), actor="pos"))
    counts["pay"], _ = statements(lambda: flow.pay(placed.pk, actor="pos"))
    counts["ship"], _ = statements(lambda: flow.ship(placed.pk, actor="wms"))
    counts["return"], _ = statements(lambda: flow.return_items(placed.pk, {2: D(1)}, actor="pos", key="r"))
    counts["event"], _ = statements(lambda: record_event(member_id=member.pk, type="review", key="rv", actor="site"))
    return counts


def test_each_step_of_the_purchase_path_costs_the_same_few_statements_whatever_the_history(programme):
    """Two regulars whom the same campaigns reward, one with five purchases behind them and one with forty."""
    short, long = member_with(5), member_with(40)
    costs(member_with(3))  # warms the process's caches (frozen rules versions), as a running server has them

    assert costs(long) == costs(short) == EXPECTED


def test_the_paid_order_comes_back_with_its_lines_and_points_rendered_without_a_read(programme):
    member = member_with(1)
    placed = flow.place_order(flow.NewOrder("pos", f"{member.pk}-new", CART, member_id=member.pk, points=500),
                              actor="pos")
    paid = flow.pay(placed.pk, actor="pos")

    count, rendered = statements(lambda: order_json(paid))

    assert count == 0
    assert rendered == order_json(Order.objects.get(pk=placed.pk))
    kinds = [points["kind"] for points in json.loads(rendered)["points"]]
    assert kinds[0] == "spend" and set(kinds[1:]) == {"earn"} and len(kinds) > 1
