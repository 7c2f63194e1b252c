"""The order's rows as the flow reads them: one locked read gives the order with its lines and hold as their last
writer left them, also after waiting for that writer's lock (PostgreSQL)."""

import threading
import time
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import F

from kopilka.orders.models import Order, OrderLine
from kopilka.purchases import flow, rows
from kopilka.purchases.quote import CartItem
from tests.concurrency import run_at_once

D = Decimal
CART = [CartItem("A", D(2), D(100), D(200)), CartItem("B", D(1), D(50), D(50))]


def place() -> Order:
    return flow.place_order(flow.NewOrder("pos", "R-1", CART), actor="pos")


@pytest.mark.django_db
def test_the_locked_order_comes_with_its_lines_attached():
    order = place()
    locked = rows.locked_order(order.pk)
    assert [(line.line_no, line.sku, line.quantity) for line in locked.lines.all()] == [(1, "A", 2), (2, "B", 1)]
    assert (locked.status, locked.total, locked.hold_id) == ("new", D(250), None)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_order_read_after_waiting_for_its_lock_has_the_lines_its_last_writer_left():
    order = place()
    holding = threading.Event()

    def writer() -> None:
        with transaction.atomic():
            rows.locked_order(order.pk)
            OrderLine.objects.filter(order=order, line_no=1).update(returned_quantity=1)
            Order.objects.filter(pk=order.pk).update(items=F("items") - 1)
            holding.set()
            time.sleep(0.5)

    def reader() -> list:
        holding.wait()
        with transaction.atomic():
            return [line.returned_quantity for line in rows.locked_order(order.pk).lines.all()]

    results = run_at_once(2, lambda i: writer() if i == 0 else reader())

    assert results == [None, [1, 0]]
