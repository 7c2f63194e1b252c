"""A purchase earns from a promo campaign only for the members it does not hold out; base earning reaches all."""

from datetime import timedelta
from decimal import Decimal

import pytest

from kopilka.campaigns import holdout
from kopilka.core import clock, programme
from kopilka.core import holdout as control_group
from kopilka.customers import services as members
from kopilka.ledger.reconcile import reconcile
from kopilka.purchases import flow
from kopilka.purchases.quote import CartItem, quote
from tests.factories import live_campaign

pytestmark = pytest.mark.django_db
D = Decimal
CART = [CartItem("HA-1", D(1), D(10000), D(10000))]


@pytest.fixture
def shop(db):
    from kopilka.catalog import services as catalog

    catalog.upsert_products([{"sku": "HA-1", "name": "Филлер", "price": "10000"}])
    live_campaign("base", {"accrual": {"reward": "percent", "percent": "5"}}, type="base")
    live_campaign("spring", {"accrual": {"reward": "percent", "percent": "2"}, "holdout_percent": "40"},
                  type="promo")
    programme.change({"CONTROL_GROUP_PERCENT": "25"}, actor="t")
    return [members.create_member(actor="t", last_name=f"Участник-{n}",
                                  registered_at=clock.now() - timedelta(days=90)) for n in range(24)]


def _paid(member_id: int, number: int) -> dict[str, int]:
    placed = flow.place_order(flow.NewOrder(source="pos", external_id=f"R-{number}", member_id=member_id,
                                            items=CART), actor="pos:1")
    paid = flow.pay(placed.pk, actor="pos:1")
    return {p.campaign: p.points for p in paid.points.filter(kind="earn")}


def test_held_out_members_earn_the_base_only_and_the_quote_says_the_same(shop):
    now = clock.now()
    ids = [m.pk for m in shop]
    in_group = {i for i in ids if control_group.in_global_control_group(i, now)}
    own = {i for i in ids if holdout.held_out(i, "spring", D(40))} - in_group

    earned = {i: _paid(i, n) for n, i in enumerate(ids)}
    quoted = {i: quote(i, CART).earned("payment") for i in ids[:6]}

    for i in ids:
        expected = {"base:v1": 500} if i in in_group | own else {"base:v1": 500, "spring:v1": 200}
        assert earned[i] == expected, i
    assert in_group and own and set(ids) - in_group - own  # every kind of member was there
    assert quoted == {i: 500 if i in in_group | own else 700 for i in ids[:6]}
    assert reconcile().clean
