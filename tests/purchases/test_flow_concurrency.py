"""Budgets and per-member limits hold exactly when many purchases are paid at once (PostgreSQL)."""

from datetime import timedelta
from decimal import Decimal

import pytest

from kopilka.campaigns.models import Campaign, MemberUsage
from kopilka.customers import services as members
from kopilka.ledger.models import Entry
from kopilka.ledger.reconcile import reconcile
from kopilka.orders.models import Order
from kopilka.purchases import flow
from kopilka.purchases.quote import CartItem
from tests.concurrency import run_at_once
from tests.factories import live_campaign

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
CART = [CartItem("ANY", Decimal(1), Decimal(2000), Decimal(2000))]  # earns 100 points at 5 %


def start(rules, budget=None):
    live_campaign("base", rules, since=timedelta(days=1), budget=budget)


def pay_order(member_id: int, n: int):
    return flow.place_order(flow.NewOrder(source="pos", external_id=f"R-{n}", items=CART, member_id=member_id,
                                          paid=True), actor="pos")


def test_twenty_members_paying_at_once_never_overspend_the_budget():
    start({"accrual": {"reward": "percent", "percent": "5"}}, budget=1050)
    people = [members.create_member(actor="t", last_name=f"Участник {i}").pk for i in range(20)]

    results = run_at_once(20, lambda i: pay_order(people[i], i))

    assert [r for r in results if not isinstance(r, Order)] == []
    granted = sorted(Entry.objects.filter(kind="accrual").values_list("amount", flat=True))
    assert sum(granted) == 1050
    assert granted == [50] + [100] * 10
    assert Campaign.objects.get().budget_spent == 1050
    assert reconcile().clean


def test_one_member_paying_ten_orders_at_once_stays_within_the_monthly_limit():
    start({"accrual": {"reward": "percent", "percent": "5", "member_limit": {"points": 250, "period": "month"}}})
    member = members.create_member(actor="t", last_name="Иванова").pk

    results = run_at_once(10, lambda i: pay_order(member, i))

    assert [r for r in results if not isinstance(r, Order)] == []
    assert sum(Entry.objects.filter(kind="accrual").values_list("amount", flat=True)) == 250
    assert MemberUsage.objects.get().points == 250
    assert reconcile().clean
