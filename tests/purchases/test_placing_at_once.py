"""The same order placed several times at once (a till retrying while its first request still runs, PostgreSQL):
every placement answers with the one order, which holds its points once; placements of one id with different
contents leave one of them and refuse the others."""

from decimal import Decimal

import pytest

from kopilka.core.errors import Conflict
from kopilka.customers import services as members
from kopilka.ledger import services as ledger
from kopilka.ledger.models import Account, Hold, Lot
from kopilka.ledger.reconcile import reconcile
from kopilka.orders.models import Order, OrderLine
from kopilka.purchases import flow
from kopilka.purchases.quote import CartItem
from tests.concurrency import run_at_once

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
D = Decimal
CART = [CartItem("CREAM", D(2), D(1000), D(2000)), CartItem("NEEDLE", D(1), D(50), D(50))]


@pytest.fixture
def member(db) -> int:
    member = members.create_member(actor="t", last_name="Петрова")
    ledger.accrue(member_id=member.pk, points=5000, actor="t", idempotency_key="start", category="compensation",
                  reason_code="goodwill")
    return member.pk


@pytest.mark.parametrize("paid", [False, True], ids=["placed", "placed-paid"])
def test_a_members_order_placed_six_times_at_once_is_one_order_holding_its_points_once(member, paid):
    new = flow.NewOrder("pos", "R-1", CART, member_id=member, points=300, paid=paid)

    results = run_at_once(6, lambda _: flow.place_order(new, actor="pos"))

    assert all(isinstance(result, Order) for result in results), results
    assert {result.pk for result in results} == {Order.objects.get().pk}
    assert OrderLine.objects.count() == 2
    assert Hold.objects.count() == 1
    account = Account.objects.get(member_id=member)
    assert (account.balance, account.held) == ((4700, 0) if paid else (5000, 300))
    assert sum(Lot.objects.values_list("held", flat=True)) == account.held
    assert reconcile().clean


def test_a_non_members_order_placed_six_times_at_once_is_one_order():
    new = flow.NewOrder("shop", "G-1", CART)

    results = run_at_once(6, lambda _: flow.place_order(new, actor="shop"))

    assert {result.pk for result in results} == {Order.objects.get().pk}
    assert OrderLine.objects.count() == 2


def test_one_order_id_placed_at_once_with_different_carts_keeps_one_and_refuses_the_others(member):
    carts = [[CartItem("CREAM", D(n + 1), D(1000), D(1000 * (n + 1)))] for n in range(4)]

    results = run_at_once(4, lambda n: flow.place_order(
        flow.NewOrder("pos", "R-2", carts[n], member_id=member, points=100), actor="pos"))

    placed = [result for result in results if isinstance(result, Order)]
    assert len(placed) == 1 and placed[0].pk == Order.objects.get().pk
    assert all(isinstance(result, Conflict) and result.code == "order_exists" for result in results
               if not isinstance(result, Order)), results
    assert Account.objects.get(member_id=member).held == 100 == Hold.objects.get().amount
