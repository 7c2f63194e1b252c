"""The purchase flow as stories: place → pay → ship, cancel, returns; what is held, spent, earned and undone."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import override_settings

from kopilka.campaigns import services as campaigns
from kopilka.campaigns.models import Campaign, MemberUsage
from kopilka.catalog import services as catalog
from kopilka.core import clock
from kopilka.core.errors import Conflict, ValidationFailed
from kopilka.customers import services as members
from kopilka.ledger import services as ledger
from kopilka.ledger.errors import MemberCannotEarnOrSpend
from kopilka.ledger.models import Entry, Hold, Lot
from kopilka.ledger.reconcile import reconcile
from kopilka.ledger.selectors import balance
from kopilka.orders.models import Order, OrderPoints
from kopilka.purchases import flow
from kopilka.purchases.quote import CartItem
from tests.factories import gift, live_campaign

pytestmark = pytest.mark.django_db
D = Decimal


def start_campaign(code, type="base", **rules):
    """A campaign live for the last 60 days."""
    return live_campaign(code, rules, type=type)


@pytest.fixture
def anna(db):
    catalog.upsert_group(code="fillers", name="Филлеры")
    catalog.upsert_group(code="care", name="Уход")
    catalog.upsert_products([
        {"sku": "HA-1", "name": "Филлер", "price": "10000", "group": "fillers"},
        {"sku": "CREAM", "name": "Крем", "price": "1000", "group": "care"},
    ])
    start_campaign("base", accrual={"reward": "percent", "percent": "5"})
    return members.create_member(actor="t", last_name="Иванова", registered_at=clock.now() - timedelta(days=90))


def give(member, points, days_ago=10):
    return gift(member.pk, points, days_ago=days_ago)


CART = [CartItem("HA-1", D(1), D(10000), D(10000)), CartItem("CREAM", D(2), D(1000), D(2000))]


def order(member, external_id="R-1", **fields):
    fields.setdefault("items", CART)
    return flow.place_order(flow.NewOrder(source="pos", external_id=external_id,
                                          member_id=member.pk if member else None, **fields), actor="pos:1")


def earned(o: Order) -> dict[str, int]:
    return {p.campaign: p.points for p in o.points.filter(kind="earn")}


def test_placing_holds_the_planned_points_and_paying_spends_them_and_earns_on_what_was_paid(anna):
    gift = give(anna, 1000)

    placed = order(anna, points=600)

    assert (placed.status, placed.points_spent, placed.discount) == ("new", 600, D(600))
    assert balance(anna.pk).held == 600
    assert Hold.objects.get().lines.get().lot_id == gift.lot_id

    paid = flow.pay(placed.pk, actor="pos:1")

    assert paid.status == "paid"
    assert earned(paid) == {"base:v1": 570}  # 5 % of 11 400 ₽
    b = balance(anna.pk)
    assert (b.total, b.held) == (1000 - 600 + 570, 0)
    assert Entry.objects.get(kind="accrual", source_ref="base:v1").lot.source_kind == "campaign"
    assert reconcile().clean


def test_placing_the_same_order_again_returns_it_and_a_different_one_with_that_id_is_refused(anna):
    give(anna, 1000)
    first = order(anna, points=100)

    assert order(anna, points=100).pk == first.pk
    with pytest.raises(Conflict):
        order(anna, points=200)
    assert Hold.objects.count() == 1


def test_cancelling_an_unpaid_order_gives_the_hold_back(anna):
    give(anna, 1000)
    placed = order(anna, points=300)

    flow.cancel(placed.pk, actor="pos:1")

    assert Order.objects.get().status == "cancelled"
    assert (balance(anna.pk).held, balance(anna.pk).available) == (0, 1000)
    with pytest.raises(Conflict):
        flow.pay(placed.pk, actor="pos:1")


def test_a_partial_return_undoes_the_returned_lines_share_and_a_full_one_the_rest(anna):
    start_campaign("care-gift", type="promo", redemption={"groups": ["care"]})
    gift = ledger.accrue(member_id=anna.pk, points=1000, actor="t", idempotency_key="care-gift", category="promo",
                         source=ledger.Source("campaign", "care-gift:v1"), at=clock.now() - timedelta(days=3))
    paid = flow.pay(order(anna, points=400).pk, actor="pos:1")
    assert dict(paid.lines.values_list("line_no", "points_spent")) == {1: 0, 2: 400}
    assert earned(paid) == {"base:v1": 580}  # 5 % of 10 000 + 1 600 ₽: 500 on line 1, 80 on line 2
    bought = sum(paid.lines.values_list("quantity", flat=True))
    assert paid.items == bought  # the order keeps its items for analytics

    flow.return_items(paid.pk, {2: D(1)}, actor="support:1", key="ret-1")
    flow.return_items(paid.pk, {2: D(1)}, actor="support:1", key="ret-1")  # a retry books nothing more
    assert Order.objects.get(pk=paid.pk).items == bought - 1

    taken_and_given = OrderPoints.objects.filter(kind__in=["reversal", "restore"])
    assert list(taken_and_given.values_list("kind", "points", "by_line")) == [
        ("restore", 200, {"2": 200}), ("reversal", 40, {"2": 40}),
    ]
    assert Lot.objects.get(pk=gift.lot_id).remaining == 1000 - 400 + 200
    with pytest.raises(Conflict):
        flow.return_items(paid.pk, {1: D(1)}, actor="support:1", key="ret-1")

    flow.return_items(paid.pk, {1: D(1), 2: D(1)}, actor="support:1", key="ret-2")

    paid.refresh_from_db()
    assert (paid.status, paid.items) == ("returned", 0)
    assert sum(OrderPoints.objects.filter(kind="reversal").values_list("points", flat=True)) == 580
    assert sum(OrderPoints.objects.filter(kind="restore").values_list("points", flat=True)) == 400
    assert balance(anna.pk).total == 1000
    assert reconcile().clean
    with pytest.raises(Conflict):
        flow.return_items(paid.pk, {1: D(1)}, actor="support:1", key="ret-3")


def test_cancelling_a_paid_order_returns_it_whole(anna):
    give(anna, 1000)
    paid = flow.pay(order(anna, points=400).pk, actor="pos:1")

    flow.cancel(paid.pk, actor="support:1")

    assert Order.objects.get().status == "cancelled"
    assert balance(anna.pk).total == 1000


def test_shipping_earns_under_the_on_shipment_campaigns(anna):
    start_campaign("cream-launch", type="promo", accrual={"reward": "fixed", "points": 300, "scenario": "shipment",
                                                          "include_groups": ["care"]})
    paid = order(anna, paid=True)

    assert earned(paid) == {"base:v1": 600}
    flow.ship(paid.pk, actor="1c")
    assert earned(Order.objects.get()) == {"base:v1": 600, "cream-launch:v1": 300}
    assert Lot.objects.get(source_ref="cream-launch:v1").category.code == "promo"


def test_an_offline_receipt_earns_as_of_its_purchase_but_cannot_spend(anna):
    give(anna, 1000)
    with pytest.raises(ValidationFailed):
        order(anna, offline=True, points=100)

    receipt = order(anna, offline=True, purchased_at=clock.now() - timedelta(days=2))

    assert (receipt.status, receipt.points_spent) == ("paid", 0)
    accrual = Entry.objects.get(source_ref="base:v1")
    assert accrual.effective_at == receipt.purchased_at


def test_purchases_of_non_members_and_of_blocked_members_touch_no_points(anna):
    give(anna, 1000)
    members.block_member(member_id=anna.pk, reason="проверка", actor="t")

    stranger = order(None, "R-9", paid=True)
    blocked = order(anna, "R-10", points=None, paid=True)
    with pytest.raises(MemberCannotEarnOrSpend):
        order(anna, "R-11", points=100)

    assert (stranger.member, stranger.status) == (None, "paid")
    assert (blocked.points_spent, earned(blocked)) == (0, {})
    assert Entry.objects.count() == 1


def test_a_non_members_order_is_shipped_and_returned_without_touching_points(anna):
    start_campaign("delivery", accrual={"reward": "fixed", "points": 300, "scenario": "shipment"})
    stranger = order(None, "R-9", paid=True)

    shipped = flow.ship(stranger.pk, actor="wms")
    returned = flow.return_items(stranger.pk, {1: D(1), 2: D(2)}, actor="support:1", key="ret-1")

    assert (shipped.status, returned.status) == ("shipped", "returned")
    assert [(c.from_status, c.to_status) for c in returned.status_changes.order_by("id")][-2:] == [
        ("paid", "shipped"), ("shipped", "returned")]
    assert (Entry.objects.count(), OrderPoints.objects.count()) == (0, 0)


def test_a_budget_grants_no_more_than_it_has_and_returns_give_points_back(anna):
    campaigns.update_campaign(code="base", actor="t", budget_points=800)

    first = order(anna, "R-1", paid=True)
    second = order(anna, "R-2", paid=True)

    assert (earned(first), earned(second)) == ({"base:v1": 600}, {"base:v1": 200})
    assert Campaign.objects.get(code="base").budget_spent == 800
    flow.return_items(first.pk, {1: D(1), 2: D(2)}, actor="t", key="r")
    assert Campaign.objects.get(code="base").budget_spent == 200


def test_a_member_limit_per_month_caps_what_one_member_earns(anna):
    campaigns.update_rules(code="base", actor="t", rules={
        "accrual": {"reward": "percent", "percent": "5", "member_limit": {"points": 1000, "period": "month"}},
    })

    first = order(anna, "R-1", paid=True)
    second = order(anna, "R-2", paid=True)

    assert (earned(first), earned(second)) == ({"base:v2": 600}, {"base:v2": 400})
    assert MemberUsage.objects.get().points == 1000


@override_settings(KOPILKA={**__import__("django.conf").conf.settings.KOPILKA, "RETURN_POLICY": "negative"})
def test_returning_a_purchase_whose_points_were_spent_follows_the_return_policy(anna):
    paid = order(anna, "R-1", paid=True)
    ledger.spend(member_id=anna.pk, points=600, actor="t", idempotency_key="spend-all")

    flow.return_items(paid.pk, {1: D(1), 2: D(2)}, actor="t", key="r")

    b = balance(anna.pk)
    assert (b.total, b.debt) == (-600, 600)
    assert reconcile().clean


def test_expiry_rules_set_when_the_earned_points_burn(anna):
    fixed = (clock.now() + timedelta(days=40)).date()
    start_campaign("summer", type="promo", accrual={"reward": "fixed", "points": 100},
                   expiry={"kind": "fixed_date", "date": fixed.isoformat()})
    start_campaign("month-end", type="promo", accrual={"reward": "fixed", "points": 50},
                   expiry={"kind": "end_of_month", "months": 0})
    start_campaign("gone", type="promo", accrual={"reward": "fixed", "points": 70},
                   expiry={"kind": "fixed_date", "date": (clock.now() - timedelta(days=1)).date().isoformat()})

    paid = order(anna, paid=True)

    assert earned(paid) == {"base:v1": 600, "summer:v1": 100, "month-end:v1": 50}  # "gone" would burn at once
    burns = {lot.source_ref: clock.local_date(lot.expires_at - timedelta(microseconds=1))
             for lot in Lot.objects.filter(source_kind="campaign")}
    today = clock.local_date(paid.purchased_at)
    assert burns["summer:v1"] == fixed
    assert burns["month-end:v1"] == clock.last_day_of_month(today)
    assert burns["base:v1"] == today + timedelta(days=365)


def test_shipping_after_a_partial_return_earns_only_on_the_goods_kept(anna):
    start_campaign("delivery", accrual={"reward": "percent", "percent": "10", "scenario": "shipment"})
    paid = order(anna, paid=True)

    flow.return_items(paid.pk, {2: D(1)}, actor="pos:1", key="r-1")
    shipped = flow.ship(paid.pk, actor="wms")

    assert shipped.points.get(kind="earn", scenario="shipment").points == 1100  # 10 % of 10 000 + 1 000 ₽ kept
    assert reconcile().clean


def test_a_return_gives_a_budget_and_a_limit_back_only_what_it_took_back_not_what_the_policy_forgave(anna):
    start_campaign("promo", accrual={"reward": "fixed", "points": 300,
                                     "member_limit": {"points": 1000, "period": "month"}})
    campaigns.update_campaign(code="promo", actor="t", budget_points=5000)
    paid = order(anna, paid=True)
    assert earned(paid) == {"base:v1": 600, "promo:v1": 300}
    ledger.spend(member_id=anna.pk, points=900, actor="shop", idempotency_key="elsewhere")

    flow.return_items(paid.pk, {1: D(1), 2: D(2)}, actor="pos:1", key="all")

    taken_back = -Entry.objects.get(kind="reversal", source_ref="promo:v1").amount
    assert taken_back == 0  # the lot was spent: take_available forgives what it cannot take
    assert Campaign.objects.get(code="promo").budget_spent == 300
    assert MemberUsage.objects.get(campaign__code="promo").points == 300
    assert reconcile().clean


def test_paying_after_the_hold_timed_out_holds_the_same_lots_again(anna):
    gift = give(anna, 1000)
    placed = order(anna, points=600)
    Hold.objects.update(expires_at=clock.now() - timedelta(seconds=1))
    ledger.release_expired_holds()

    paid = flow.pay(placed.pk, actor="pos:1")

    assert (paid.status, paid.points.get(kind="spend").points) == ("paid", 600)
    assert list(Hold.objects.order_by("pk").values_list("status", flat=True)) == ["expired", "captured"]
    assert Lot.objects.get(pk=gift.lot_id).remaining == 400
    assert (balance(anna.pk).held, balance(anna.pk).total) == (0, 400 + 570)
    assert reconcile().clean


def test_paying_after_the_hold_timed_out_and_the_points_went_elsewhere_is_refused_and_the_order_can_be_cancelled(anna):
    give(anna, 1000)
    placed = order(anna, points=600)
    Hold.objects.update(expires_at=clock.now() - timedelta(seconds=1))
    ledger.release_expired_holds()
    ledger.spend(member_id=anna.pk, points=500, actor="shop", idempotency_key="elsewhere")

    with pytest.raises(Conflict) as refused:
        flow.pay(placed.pk, actor="pos:1")

    assert refused.value.code == "points_no_longer_held"
    assert Order.objects.get().status == "new"
    assert flow.cancel(placed.pk, actor="pos:1").status == "cancelled"
    assert (balance(anna.pk).held, balance(anna.pk).available) == (0, 500)
    assert reconcile().clean


def test_a_back_dated_receipt_earns_under_the_rules_version_then_in_force(anna):
    campaigns.update_rules(code="base", rules={"accrual": {"reward": "percent", "percent": "10"}}, actor="t")

    earlier = order(anna, "R-1", offline=True, purchased_at=clock.now() - timedelta(days=2))
    today = order(anna, "R-2", offline=True)

    assert (earned(earlier), earned(today)) == ({"base:v1": 600}, {"base:v2": 1200})


def test_a_back_dated_receipt_earns_under_the_campaigns_active_at_its_time_not_now(anna):
    start_campaign("autumn", accrual={"reward": "fixed", "points": 100})
    campaigns.change_status(code="autumn", action="pause", actor="t")
    campaigns.create_campaign(code="late", name="late", type="base", starts_at=clock.now() - timedelta(days=60),
                              actor="t", rules={"accrual": {"reward": "fixed", "points": 7}})
    campaigns.change_status(code="late", action="activate", actor="t")  # today, though it "started" 60 days ago

    earlier = order(anna, "R-1", offline=True, purchased_at=clock.now() - timedelta(days=2))
    today = order(anna, "R-2", offline=True)

    assert earned(earlier) == {"base:v1": 600, "autumn:v1": 100}
    assert earned(today) == {"base:v1": 600, "late:v1": 7}


def test_a_receipt_dated_further_back_than_the_programme_allows_is_refused_and_changes_nothing(anna, settings):
    settings.KOPILKA = {**settings.KOPILKA, "BACKDATING_DAYS": 7}

    with pytest.raises(ValidationFailed) as refused:
        order(anna, offline=True, purchased_at=clock.now() - timedelta(days=8))

    assert (refused.value.code, refused.value.details) == ("purchase_too_old", {"days": 7})
    assert (Order.objects.count(), Entry.objects.count()) == (0, 0)
    assert order(anna, offline=True, purchased_at=clock.now() - timedelta(days=6)).status == "paid"
