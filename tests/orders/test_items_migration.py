"""Orders written before `Order.items` existed get it from their lines when the migration runs."""

from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_the_migration_fills_items_from_the_lines():
    executor = MigrationExecutor(connection)
    executor.migrate([("orders", "0002_purchase_flow")])
    old = executor.loader.project_state([("orders", "0002_purchase_flow")]).apps
    order = old.get_model("orders", "Order").objects.create(
        source="pos", external_id="before", purchased_at="2026-03-01T09:00:00Z", total=Decimal("300"))
    line = old.get_model("orders", "OrderLine")
    line.objects.create(order_id=order.pk, line_no=1, sku="A", quantity=Decimal("2.5"), price=100, amount=250,
                        returned_quantity=Decimal("0.5"))
    line.objects.create(order_id=order.pk, line_no=2, sku="B", quantity=Decimal("1"), price=50, amount=50)
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    new = executor.loader.project_state(executor.loader.graph.leaf_nodes()).apps
    assert new.get_model("orders", "Order").objects.get(pk=order.pk).items == Decimal("3.000")
