"""The RFM summary of each member as of a date, as the BTYD literature and the `lifetimes` library define it.

- Purchases are the member's counted orders (paid, shipped, completed) up to the end of the as-of date; all
  orders of one programme day (time zone of the programme) are one purchase, worth their exact sum.
- `frequency`: the number of repeat purchases (purchase days after the first);
- `recency`: the time from the first purchase to the last; `T`: from the first purchase to the as-of date;
- `monetary_value`: the mean value of the repeat purchases, 0 when there are none.
Times are in the unit asked for — a day, a week (7 days) or a 30-day month — and fractional. Members without a
purchase by then are not in the summary. One SQL statement computes it (portable: PostgreSQL and SQLite).
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection

from kopilka.analytics.data.scope import counted, kopecks_sum
from kopilka.core import clock, sql
from kopilka.core.sql import days_between, local_day
from kopilka.customers.models import ExternalId

UNITS = {"day": 1, "week": 7, "month": 30}


@dataclass(frozen=True)
class Summary:
    member_id: int
    customer_id: str  # the member's id in the sending system (imports' customer_id), else the member id
    frequency: int
    recency: float
    T: float  # noqa: N815 - the literature's name
    monetary_value: Decimal


def _statement() -> str:
    as_of = "CAST(%(as_of)s AS date)" if connection.vendor == "postgresql" else "%(as_of)s"
    return f"""
    WITH days AS (
        SELECT o.member_id, {local_day("o.purchased_at")} AS day, {kopecks_sum("o.total")} AS kopecks
        FROM orders_order o
        WHERE o.member_id IS NOT NULL AND {counted()} AND o.purchased_at < %(until)s
        GROUP BY 1, 2
    ), spans AS (
        SELECT member_id, MIN(day) AS first_day, MAX(day) AS last_day, COUNT(*) AS days FROM days GROUP BY member_id
    )
    SELECT s.member_id, s.days - 1, {days_between("s.last_day", "s.first_day")},
           {days_between(as_of, "s.first_day")},
           COALESCE(SUM(CASE WHEN d.day > s.first_day THEN d.kopecks END), 0),
           (SELECT MIN(x.value) FROM customers_externalid x WHERE x.member_id = s.member_id AND x.system = %(system)s)
    FROM spans s JOIN days d ON d.member_id = s.member_id
    GROUP BY s.member_id, s.days, s.first_day, s.last_day
    ORDER BY s.member_id
    """


def summary(as_of: date, unit: str = "day") -> Iterator[Summary]:
    """One Summary per member with a purchase by the end of `as_of`, in member id order."""
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {', '.join(UNITS)}")
    length = UNITS[unit]
    params = {
        "tz": str(clock.programme_tz()), "conn_tz": connection.timezone_name, "as_of": as_of.isoformat(),
        "until": sql.at(clock.start_of_day(as_of + timedelta(days=1))), "system": ExternalId.System.CUSTOMER,
    }
    for member_id, frequency, recency, age, repeat_kopecks, customer_id in sql.rows(_statement(), params):
        repeat_value = Decimal(int(repeat_kopecks)) / 100
        yield Summary(
            member_id=member_id, customer_id=customer_id or str(member_id), frequency=int(frequency),
            recency=int(recency) / length, T=int(age) / length,
            monetary_value=(repeat_value / frequency).quantize(Decimal("0.01")) if frequency else Decimal("0.00"),
        )
