"""Statements on the driver's cursor (`sql.driver_rows`): rows or None, Django's errors, and a kept cursor that
follows the connection it belongs to."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from kopilka.core import sql
from kopilka.core.models import IdempotencyRecord

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

INSERT = ("INSERT INTO core_idempotencyrecord (principal, key, endpoint, request_hash, created_at) "
          "VALUES (%s, %s, 'e', 'h', now())")


def test_a_read_gives_its_rows_or_the_first_and_a_write_without_returning_gives_none():
    assert sql.driver_rows("SELECT n FROM generate_series(1, 3) AS n", []) == [(1,), (2,), (3,)]
    assert sql.driver_rows("SELECT n FROM generate_series(1, 3) AS n", [], one=True) == (1,)
    assert sql.driver_rows("SELECT 1 WHERE false", [], one=True) is None
    assert sql.driver_rows("SELECT 1 WHERE false", []) == []
    assert sql.driver_rows(INSERT, ["p", "k"]) is None
    assert sql.driver_rows(INSERT + " RETURNING key", ["p", "k2"], one=True) == ("k2",)
    assert IdempotencyRecord.objects.filter(principal="p").count() == 2


def test_a_failing_statement_raises_djangos_error_and_the_next_one_runs():
    sql.driver_rows(INSERT, ["p", "k"])
    with pytest.raises(IntegrityError), transaction.atomic():
        sql.driver_rows(INSERT, ["p", "k"])

    assert sql.driver_rows("SELECT count(*) FROM core_idempotencyrecord WHERE principal = %s", ["p"],
                           one=True) == (1,)


def test_statements_are_counted_where_django_counts_its_own():
    with CaptureQueriesContext(connection) as captured:
        sql.driver_rows("SELECT 1", [])
        sql.driver_rows("SELECT 2", [])

    assert [query["sql"] for query in captured.captured_queries] == ["SELECT 1", "SELECT 2"]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_after_the_connection_is_closed_statements_run_on_the_new_one():
    before = sql.driver_rows("SELECT pg_backend_pid()", [], one=True)
    connection.close()

    after = sql.driver_rows("SELECT pg_backend_pid()", [], one=True)

    assert after is not None and after != before
    assert sql.driver_rows("SELECT %s::int + 1", [41], one=True) == (42,)


def test_a_large_result_is_not_kept_after_it_was_read():
    assert len(sql.driver_rows("SELECT n FROM generate_series(1, 5000) AS n", [])) == 5000
    kept = getattr(sql._driver, "kept", None)

    assert kept is None or kept[2].pgresult is None or kept[2].pgresult.ntuples <= sql._KEPT_ROWS
    assert sql.driver_rows("SELECT 1", [], one=True) == (1,)
