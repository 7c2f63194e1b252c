"""Hand-written reads for the hot paths (evaluating a cart), where building an ORM query costs more than running it.

The SQL here is portable between PostgreSQL and SQLite; the converters give back what the ORM would: SQLite hands
out timestamps as text, decimals as numbers and JSON as text, PostgreSQL hands out the Python types already.
"""

import json
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, overload

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils.dateparse import parse_date, parse_datetime
from psycopg.pq import ExecStatus


def rows(sql: str, params: Sequence | Mapping = ()) -> list[tuple]:
    """All rows of one read; `%s` placeholders (`%(name)s` with a mapping). PostgreSQL sends them in binary (no
    text to parse back), on the driver's cursor (`driver_rows`)."""
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor == "postgresql":
        return driver_rows(sql, params, binary=True)
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def driver_rows(sql: str, params: Sequence | Mapping, *, one: bool = False, **options) -> Any:
    """PostgreSQL: all rows (the first, or None, with `one`; None when it returns none) of a statement run on a
    driver's cursor of Django's connection, inside its transaction, past Django's cursor wrappers; `options` go to
    psycopg's execute (binary=... for binary rows, prepare=...). Its errors are Django's, as
    from any statement (a deadlock is a DatabaseError that `retrying.outermost` runs again), and it is recorded
    where Django records its own: in debug mode and under `CaptureQueriesContext`, so statement counts see it."""
    db = connections[DEFAULT_DB_ALIAS]
    if db.connection is None:
        db.ensure_connection()
    cursor = _driver_cursor(db)
    with db.wrap_database_errors:
        cursor.execute(sql, params, **options)
        result = cursor.pgresult
        if result is None or result.status != ExecStatus.TUPLES_OK:  # a statement that returns no rows
            found = None
        else:
            found = cursor.fetchone() if one else cursor.fetchall()
            if result.ntuples > _KEPT_ROWS:  # the kept cursor would hold the large result until the next statement
                _forget_cursor()
    if db.queries_logged:
        db.queries_log.append({"sql": sql, "time": "0.000"})
    return found


_driver = threading.local()
_KEPT_ROWS = 1000


def _driver_cursor(db) -> Any:
    """The thread's driver cursor on `db`'s current connection, made by Django (so its time zone is the
    connection's) and kept for the next statement: a new one for every statement cost a tenth of a small read.
    Django's connections are the thread's own, so is this cursor; a new connection or time zone gets a new one."""
    kept = getattr(_driver, "kept", None)
    if kept is not None:
        connection_, zone, cursor = kept
        if connection_ is db.connection and zone == db.timezone:
            return cursor
    cursor = db.create_cursor()
    _driver.kept = (db.connection, db.timezone, cursor)
    return cursor


def _forget_cursor() -> None:
    kept = getattr(_driver, "kept", None)
    if kept is not None:
        _, _, cursor = kept
        cursor.close()
        _driver.kept = None


def array(values: Iterable) -> str:
    """A one-dimensional array as PostgreSQL's text literal, for a parameter cast to its type (`%s::bigint[]`):
    psycopg dumps a list element by element in Python, several times the cost of this text on the hot paths.

    Elements are None (NULL), integers, decimals, text (choices too) or aware timestamps; text is quoted and
    escaped, so any character PostgreSQL's text takes is kept as it is. Anything else is a TypeError."""
    return "{" + ",".join([(_ELEMENTS.get(type(value)) or _element)(value) for value in values]) + "}"


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _moment(value: datetime) -> str:
    if value.tzinfo is None:
        raise TypeError(f"a naive timestamp in an array: {value!r}")
    return '"' + value.isoformat() + '"'


def _element(value) -> str:
    """The less common element types: subclasses of text (choices), of integers (not booleans), of timestamps."""
    if isinstance(value, str):
        return _quoted(str(value))
    if isinstance(value, int) and not isinstance(value, bool):
        return str(int(value))
    if isinstance(value, datetime):
        return _moment(value)
    raise TypeError(f"no array element of type {type(value).__name__}")


_ELEMENTS: dict[type, Callable[[Any], str]] = {
    int: str,
    Decimal: str,
    str: _quoted,
    datetime: _moment,
    type(None): lambda _value: "NULL",
}


def placeholders(values: Iterable) -> str:
    """"%s, %s, ..." for an IN list of these values ("NULL" for none, which matches nothing)."""
    count = len(list(values))
    return ", ".join(["%s"] * count) if count else "NULL"


def at(value: datetime):
    """A timestamp as a parameter, the way the ORM would bind it (SQLite compares UTC text)."""
    return connection.ops.adapt_datetimefield_value(value)


@overload
def moment(value: None) -> None: ...
@overload
def moment(value: datetime | str) -> datetime: ...
def moment(value):
    """An aware timestamp (SQLite keeps UTC as naive text); None stays None."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = parse_datetime(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@overload
def day(value: None) -> None: ...
@overload
def day(value: date | str) -> date: ...
def day(value):
    if value is None or isinstance(value, date):
        return value
    return parse_date(value)


@overload
def money(value: None) -> None: ...
@overload
def money(value: Decimal | float | str) -> Decimal: ...
def money(value):
    """A decimal column as Decimal; SQLite returns numbers, whose shortest text is the stored decimal. None stays
    None."""
    if value is None or isinstance(value, Decimal):
        return value
    return Decimal(str(value))


KOPECKS, THOUSANDTHS = 100, 1000  # the scales of money and of quantities


def exact_sum(column: str, scale: int, when: str = "") -> str:
    """SQL for the exact sum of a decimal column (or expression) times `scale` as a whole number, 0 over no rows;
    with `when`, of the rows where that SQL condition holds. PostgreSQL sums its numeric exactly and scales the sum;
    SQLite keeps decimals as floating point, whose sum drifts, so there each row is scaled and rounded to a whole
    number first and the whole numbers are summed."""
    postgres = connection.vendor == "postgresql"
    value = f"({column})" if postgres else f"CAST(ROUND(({column}) * {scale}) AS BIGINT)"
    if when:
        value = f"CASE WHEN {when} THEN {value} ELSE 0 END"
    total = f"COALESCE(SUM({value}), 0)"
    return f"CAST(ROUND({total} * {scale}) AS BIGINT)" if postgres else total


def local_day(column: str) -> str:
    """SQL for the programme day of a timestamp column, for a statement with named parameters: %(tz)s the
    programme time zone, %(conn_tz)s (SQLite) the connection's."""
    if connection.vendor == "postgresql":
        return f"({column} AT TIME ZONE %(tz)s)::date"
    # Django's SQLite connection provides this function (it backs TruncDate with a time zone).
    return f"django_datetime_cast_date({column}, %(tz)s, %(conn_tz)s)"


def day_number(expression: str) -> str:
    """SQL for a date as the number of days since 1970-01-01."""
    if connection.vendor == "postgresql":
        return f"({expression} - DATE '1970-01-01')"
    return f"CAST(julianday({expression}) - 2440587.5 AS INTEGER)"


def days_between(later: str, earlier: str) -> str:
    """SQL for the whole days from one date to a later one."""
    if connection.vendor == "postgresql":
        return f"({later} - {earlier})"
    return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"


def plus_days(moment_sql: str, days_sql: str) -> str:
    """SQL for the moment `days_sql` whole days after `moment_sql` (both SQL expressions), comparable with the
    stored timestamps on either database; for a statement run with parameters (its percent signs doubled)."""
    if connection.vendor == "postgresql":
        return f"({moment_sql} + ({days_sql}) * INTERVAL '1 day')"
    return f"strftime('%%Y-%%m-%%d %%H:%%M:%%f', {moment_sql}, '+' || ({days_sql}) || ' days')"


def document(value):
    """A JSON column as Python data."""
    return json.loads(value) if isinstance(value, str) else value
