"""Evaluating a cart: the most it can take in points under each lot's rules, from which lots, and what it earns."""

from datetime import timedelta
from decimal import Decimal

import pytest

from kopilka.campaigns import services as campaigns
from kopilka.catalog import services as catalog
from kopilka.core import clock
from kopilka.customers import services as members
from kopilka.ledger import services as ledger
from kopilka.ledger.models import Entry
from kopilka.purchases.quote import CartItem, quote

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def shop(db):
    catalog.upsert_group(code="fillers", name="Филлеры")
    catalog.upsert_group(code="care", name="Уход")
    catalog.upsert_products([
        {"sku": "HA-1", "name": "Филлер", "price": "10000", "group": "fillers"},
        {"sku": "CREAM", "name": "Крем", "price": "2000", "group": "care"},
    ])
    start = clock.now() - timedelta(days=30)
    campaigns.create_campaign(code="base", name="Базовая", type="base", starts_at=start, actor="t", rules={
        "accrual": {"reward": "percent", "percent": "5"},
    })
    campaigns.create_campaign(code="cream-launch", name="Запуск крема", type="promo", starts_at=start, actor="t",
                              rules={
        "accrual": {"reward": "fixed", "points": 300, "include_groups": ["care"], "scenario": "shipment"},
        "redemption": {"groups": ["care"], "coefficient": "2"},
    })
    for code in ("base", "cream-launch"):
        campaigns.change_status(code=code, action="activate", actor="t")
    return members.create_member(actor="t", last_name="Иванова", registered_at=start)


def accrue(member, points, ref, category="base", days_ago=10):
    return ledger.accrue(member_id=member.pk, points=points, actor="t", idempotency_key=f"{ref}-{points}-{days_ago}",
                         category=category, source=ledger.Source("campaign", ref),
                         at=clock.now() - timedelta(days=days_ago))


CART = [
    CartItem("HA-1", D(1), D(10000), D(10000)),
    CartItem("CREAM", D(2), D(1000), D(2000)),
]


def test_a_non_member_cart_spends_and_earns_nothing(shop):
    result = quote(None, CART)

    assert (result.maximum, result.points, result.discount, result.total) == (0, 0, 0, D(12000))
    assert result.decisions == {}


def test_the_maximum_respects_each_lots_rules(shop):
    promo = accrue(shop, 1500, "cream-launch:v1", category="promo", days_ago=5)
    base = accrue(shop, 500, "base:v1", days_ago=20)

    result = quote(shop.pk, CART, requested=None)

    # Cream points pay 2 ₽ each and only for the cream (2 000 ₽ → 1 000 points); base points pay for anything.
    assert (result.maximum, result.points, result.discount) == (1500, 1500, D(2500))
    assert [(line.points, line.discount, line.to_pay) for line in result.lines] == [
        (500, D(500), D(9500)), (1000, D(2000), D(0)),
    ]
    assert sorted((d.lot_id, d.line, d.points) for d in result.draws) == sorted([
        (promo.lot_id, 2, 1000), (base.lot_id, 1, 500),
    ])
    assert Entry.objects.count() == 2  # nothing written


def test_lots_of_an_earlier_version_keep_its_spending_rules_next_to_the_live_versions_lots(shop):
    """The live version's rules come with the live campaigns; an earlier version's are read for its lots."""
    early = accrue(shop, 1500, "cream-launch:v1", category="promo", days_ago=5)
    campaigns.update_rules(code="cream-launch", actor="t", rules={
        "accrual": {"reward": "fixed", "points": 300, "include_groups": ["care"], "scenario": "shipment"},
        "redemption": {"groups": ["fillers"], "coefficient": "1"},
    })
    late = accrue(shop, 700, "cream-launch:v2", category="promo", days_ago=1)

    result = quote(shop.pk, CART, requested=None)

    # v1's points pay 2 ₽ each for the cream alone (1 000 of them for 2 000 ₽), v2's 1 ₽ each for the filler.
    assert sorted((d.lot_id, d.line, d.points) for d in result.draws) == sorted([
        (early.lot_id, 2, 1000), (late.lot_id, 1, 700),
    ])
    assert (result.points, result.discount) == (1700, D(2700))


def test_the_receipt_cap_bounds_the_discount_and_the_most_points_win(shop):
    accrue(shop, 1500, "cream-launch:v1", category="promo", days_ago=5)
    accrue(shop, 5000, "base:v1", days_ago=20)

    result = quote(shop.pk, CART, requested=None)

    # 30 % of 12 000 ₽ = 3 600 ₽, most points when every rouble of it is a base point.
    assert (result.maximum, result.discount) == (3600, D(3600))


def test_a_request_is_honoured_up_to_the_maximum_and_promo_points_go_first(shop):
    accrue(shop, 500, "base:v1", days_ago=20)
    promo = accrue(shop, 1500, "cream-launch:v1", category="promo", days_ago=5)

    result = quote(shop.pk, CART, requested=300)

    assert (result.maximum, result.points) == (1500, 300)
    assert [(d.lot_id, d.points) for d in result.draws] == [(promo.lot_id, 300)]
    assert result.discount == D(600)


def test_earnings_are_on_what_is_paid_after_points_per_scenario(shop):
    accrue(shop, 1000, "base:v1")

    result = quote(shop.pk, CART, requested=1000)

    assert result.discount == D(1000)
    assert result.earned("payment") == 550  # 5 % of 11 000 ₽
    assert result.earned("shipment") == 300
    assert sum(line.earned["payment"] for line in result.lines) == 550
    assert [line.earned.get("shipment", 0) for line in result.lines] == [0, 300]
    for line in result.lines:  # each line earns its share of 5 % of what is paid for it
        assert abs(line.earned["payment"] - line.to_pay * D("0.05")) < 1


def test_an_offline_receipt_earns_but_never_spends(shop):
    accrue(shop, 1000, "base:v1")

    result = quote(shop.pk, CART, requested=None, can_spend=False)

    assert (result.maximum, result.points, result.draws) == (0, 0, [])
    assert result.earned("payment") == 600


def test_the_programmes_cap_per_line_limits_what_points_pay_on_each_line(shop, settings):
    settings.KOPILKA = {**settings.KOPILKA, "LINE_CAP_PERCENT": "10"}
    accrue(shop, 5000, "elsewhere:v1", days_ago=5)

    result = quote(shop.pk, CART, requested=None)

    # 10 % of each line (1 000 and 200 ₽) under the receipt's 30 % (3 600 ₽).
    assert [(line.points, line.discount) for line in result.lines] == [(1000, D(1000)), (200, D(200))]
    assert result.maximum == 1200
