"""A transaction that PostgreSQL ends with a deadlock runs again, and both sides of the deadlock get done."""

import threading

import pytest
from django.db import connection

from kopilka.core.retrying import outermost
from kopilka.customers import services as members
from tests.concurrency import run_at_once

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def test_two_transactions_that_deadlock_each_other_both_finish_one_of_them_run_again():
    first = members.create_member(actor="t", last_name="А").pk
    second = members.create_member(actor="t", last_name="Б").pk
    both_hold_one = threading.Barrier(2)
    attempts = [0, 0]

    def work(i: int) -> int:
        mine, theirs = (first, second) if i == 0 else (second, first)

        def lock_both() -> int:
            attempts[i] += 1
            with connection.cursor() as cursor:
                cursor.execute("UPDATE customers_member SET first_name = %s WHERE id = %s", [f"by {i}", mine])
                if attempts[i] == 1:
                    both_hold_one.wait(timeout=10)
                cursor.execute("UPDATE customers_member SET first_name = %s WHERE id = %s", [f"by {i}", theirs])
            return attempts[i]

        return outermost(lock_both)

    results = run_at_once(2, work)

    assert sorted(results) == [1, 2]


@pytest.mark.parametrize("read", ["sql.rows", "booking statement"])
def test_a_deadlock_in_a_statement_sent_past_djangos_cursor_is_run_again_as_well(read):
    """The hot paths send some statements on the driver's cursor (binary rows); a deadlock there is the same
    database error as anywhere else, so the transaction runs again."""
    from kopilka.core import sql
    from kopilka.ledger import statements

    first = members.create_member(actor="t", last_name="А").pk
    second = members.create_member(actor="t", last_name="Б").pk
    both_hold_one = threading.Barrier(2)
    attempts = [0, 0]
    lock = "SELECT id FROM customers_member WHERE id = %(id)s FOR UPDATE"

    def work(i: int) -> int:
        mine, theirs = (first, second) if i == 0 else (second, first)

        def lock_both() -> int:
            attempts[i] += 1
            sql.rows(lock, {"id": mine})
            if attempts[i] == 1:
                both_hold_one.wait(timeout=10)
            if read == "sql.rows":
                sql.rows(lock, {"id": theirs})
            else:
                statements._call(lock, {"id": theirs})
            return attempts[i]

        return outermost(lock_both)

    assert sorted(run_at_once(2, work)) == [1, 2]
