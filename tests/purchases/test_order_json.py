"""The order's answer, built as JSON directly, is byte for byte what the API's models and renderer make of it."""

from datetime import timedelta
from decimal import Decimal

import pytest

from kopilka.api.base import api
from kopilka.api.order_answer import order_json
from kopilka.api.purchases import OrderOut
from kopilka.core import clock
from kopilka.orders.models import Order
from kopilka.purchases import flow
from kopilka.purchases.quote import CartItem
from tests import factories

pytestmark = pytest.mark.django_db


def through_the_models(order: Order) -> bytes:
    """The answer as the generic path renders it: validated against OrderOut, dumped (Python values), rendered."""
    order = Order.objects.get(pk=order.pk)
    answer = {
        "id": order.pk, "source": order.source, "order_id": order.external_id, "member_id": order.member_id,
        "status": order.status, "purchased_at": order.purchased_at, "total": order.total,
        "discount": order.discount, "points_spent": order.points_spent, "offline": order.offline,
        "lines": [
            {"line": x.line_no, "sku": x.sku, "quantity": x.quantity, "price": x.price, "amount": x.amount,
             "discount": x.discount, "points": x.points_spent, "returned_quantity": x.returned_quantity}
            for x in order.lines.order_by("line_no")
        ],
        "points": [
            {"kind": p.kind, "scenario": p.scenario, "campaign": p.campaign, "points": p.points,
             "entry_id": p.entry_id}
            for p in order.points.order_by("id")
        ],
    }
    dumped = OrderOut.model_validate(answer).model_dump()
    return api.renderer.render(None, dumped, response_status=200).encode()


@pytest.fixture
def shop(db):
    factories.products([("care", "Уход")], [
        {"sku": "CREAM", "name": "Крем", "price": "1999.90", "group": "care"},
        {"sku": "MASK", "name": "Маска", "price": "350", "group": "care"},
    ])
    factories.live_campaign("base", {"accrual": {"reward": "percent", "percent": "5"}})
    factories.live_campaign("ship", {"accrual": {"reward": "fixed", "points": 300, "scenario": "shipment"}})
    member = factories.member()
    factories.gift(member.pk, 5_000, days_ago=3)
    return member


def _place(member, points: int, **fields) -> Order:
    items = [CartItem("CREAM", Decimal("3"), Decimal("1999.90"), Decimal("5999.70")),
             CartItem("MASK", Decimal("1.5"), Decimal("350"), Decimal("525.00"))]
    return flow.place_order(flow.NewOrder(source="pos", external_id=f"r-{points}", items=items, member_id=member.pk,
                                          points=points, **fields), actor="t")


def test_a_placed_order_with_points_held(shop):
    order = _place(shop, 700)
    assert order_json(order) == through_the_models(order)


def test_an_order_paid_shipped_and_partly_returned(shop):
    order = _place(shop, 1_000)
    paid = flow.pay(order.pk, actor="t")
    assert order_json(paid) == through_the_models(paid)
    shipped = flow.ship(order.pk, actor="t")
    assert order_json(shipped) == through_the_models(shipped)
    returned = flow.return_items(order.pk, {1: Decimal("1")}, actor="t", key="ret-1")
    assert order_json(returned) == through_the_models(returned)


def test_a_back_dated_receipt_without_a_member(shop):
    order = _place(shop, 0, purchased_at=clock.now() - timedelta(days=2, microseconds=1))
    assert order_json(order) == through_the_models(order)
