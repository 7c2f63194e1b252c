"""Hand-written reads for the hot paths (evaluating a cart), where building an ORM query costs more than running it.

The SQL here is portable between PostgreSQL and SQLite; the converters give back what the ORM would: SQLite hands
out timestamps as text, decimals as numbers and JSON as text, PostgreSQL hands out the Python types already.
"""

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import overload

from django.db import connection
from django.utils.dateparse import parse_date, parse_datetime


def rows(sql: str, params: Sequence | Mapping = ()) -> list[tuple]:
    """All rows of one read; `%s` placeholders (`%(name)s` with a mapping). PostgreSQL sends them in binary (no
    text to parse back)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.cursor.execute(sql, params, binary=True)
            noted(sql)
        else:
            cursor.execute(sql, params)
        return cursor.fetchall()


def noted(sql: str) -> None:
    """Records a statement sent past Django's cursor (binary rows) where Django records its own: in debug mode and
    under `CaptureQueriesContext`, so statement counts see every statement."""
    if connection.queries_logged:
        connection.queries_log.append({"sql": sql, "time": "0.000"})


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


def document(value):
    """A JSON column as Python data."""
    return json.loads(value) if isinstance(value, str) else value
