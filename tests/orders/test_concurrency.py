"""Imports running at the same time on PostgreSQL: they queue, so overlapping files never collide."""

import io

import pytest

from kopilka.customers.models import ExternalId
from kopilka.orders.importing import ImportResult, import_transactions
from kopilka.orders.models import Order, OrderLine
from tests.concurrency import run_at_once

from .conftest import HEADER

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_four_imports_of_the_same_file_at_once_store_it_once(write_csv, regions):
    # given a file of 2,000 orders of 500 customers
    rows = [f"C-{n % 500},2024-03-01 10:00,{n}.50,O-{n},SKU,1,{n}.50,77" for n in range(2000)]
    path = write_csv("shared.csv", HEADER, *rows)

    # when four imports of it start at the same moment
    results = run_at_once(4, lambda _: import_transactions(path, progress_stream=io.StringIO()))

    # then one stores everything and the others, having waited, skip everything
    assert all(isinstance(result, ImportResult) for result in results), results
    assert sorted((r.orders_created, r.members_created, r.skipped_existing) for r in results) == [
        (0, 0, 2000),
        (0, 0, 2000),
        (0, 0, 2000),
        (2000, 500, 0),
    ]
    assert (Order.objects.count(), OrderLine.objects.count()) == (2000, 2000)
    assert ExternalId.objects.filter(system="customer").count() == 500
