"""Events are written to the outbox in the transaction of their change: a member created, changed or blocked, an
order paid or returned, a tier reached — and nothing for a change that was rolled back or refused."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction

from kopilka.catalog import services as catalog
from kopilka.core import clock, outbox
from kopilka.core.errors import ValidationFailed
from kopilka.core.models import OutboxEvent
from kopilka.customers import services as members
from kopilka.customers.models import Member
from kopilka.purchases import flow
from kopilka.purchases.quote import CartItem
from kopilka.tiers import services as tiers
from tests.factories import gift, live_campaign

pytestmark = pytest.mark.django_db


def events() -> list[tuple[str, str, dict]]:
    return [(e.type, e.subject, e.payload) for e in OutboxEvent.objects.order_by("id")]


def test_a_new_member_and_each_change_of_it_are_events():
    anna = members.create_member(actor="t", last_name="Соколова")
    members.update_member(member_id=anna.pk, actor="t", email="anna@example.ru", first_name="Анна")
    members.block_member(member_id=anna.pk, reason="fraud", actor="t")
    subject = f"member:{anna.pk}"
    assert events() == [
        ("member.created", subject, {"member_id": anna.pk, "kind": "individual", "status": "active"}),
        ("member.updated", subject, {"member_id": anna.pk, "kind": "individual", "status": "active",
                                     "fields": ["email", "first_name"]}),
        ("member.updated", subject, {"member_id": anna.pk, "kind": "individual", "status": "blocked",
                                     "fields": ["status"]}),
    ]


def test_a_rolled_back_change_leaves_no_event():
    anna = members.create_member(actor="t", last_name="Соколова")
    before = events()
    with pytest.raises(RuntimeError), transaction.atomic():
        members.update_member(member_id=anna.pk, actor="t", last_name="Петрова")
        raise RuntimeError("the caller's transaction fails after the change")
    assert events() == before and Member.objects.get(pk=anna.pk).last_name == "Соколова"


def test_a_refused_change_leaves_no_event():
    anna = members.create_member(actor="t", last_name="Соколова")
    before = events()
    with pytest.raises(ValidationFailed):
        members.update_member(member_id=anna.pk, actor="t", email="not an address")
    assert events() == before


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_event_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError):
        outbox.record("member.updated", "member:1", {})
    assert not OutboxEvent.objects.exists()


def test_paying_and_returning_an_order_are_events():
    catalog.upsert_products([{"sku": "CREAM", "name": "Крем", "price": "1000"}])
    live_campaign("base", {"accrual": {"reward": "percent", "percent": "5"}})
    anna = members.create_member(actor="t", last_name="Соколова", registered_at=clock.now() - timedelta(days=9))
    gift(anna.pk, 500, days_ago=5)
    placed = flow.place_order(flow.NewOrder(source="pos", external_id="R-1", member_id=anna.pk, points=100,
                                            items=[CartItem("CREAM", Decimal(2), Decimal(1000), Decimal(2000))]),
                              actor="pos:1")
    OutboxEvent.objects.all().delete()
    flow.pay(placed.pk, actor="pos:1")
    flow.return_items(placed.pk, {1: Decimal(1)}, actor="pos:1", key="ret-1")
    flow.return_items(placed.pk, {1: Decimal(1)}, actor="pos:1", key="ret-2")
    order = {"order_id": placed.pk, "member_id": anna.pk, "source": "pos", "external_id": "R-1",
             "total": "2000.00", "purchased_at": placed.purchased_at.isoformat(timespec="milliseconds")
             .replace("+00:00", "Z")}
    subject = f"order:{placed.pk}"
    assert events() == [
        ("order.paid", subject, {**order, "status": "paid", "points_spent": 100, "points_earned": 95}),
        ("order.returned", subject, {**order, "status": "paid", "return_key": "ret-1", "quantities": {"1": "1"},
                                     "returned_in_full": False}),
        ("order.returned", subject, {**order, "status": "returned", "return_key": "ret-2",
                                     "quantities": {"1": "1"}, "returned_in_full": True}),
    ]


def test_reaching_a_tier_is_an_event(moments):
    tiers.upsert_tier(code="gold", name="Золото", rank=2, threshold=0)
    anna = members.create_member(actor="t", last_name="Соколова")
    OutboxEvent.objects.all().delete()
    tiers.set_floor(anna.pk, "gold", actor="t", reason="VIP")
    assert events() == [("tier.changed", f"member:{anna.pk}", {
        "member_id": anna.pk, "from_tier": None, "to_tier": "gold", "reason": "VIP",
        "changed_at": moments.now.isoformat(timespec="milliseconds").replace("+00:00", "Z")})]
