"""Per-member purchase facts for a scope: one set-based pass over the purchases, as numpy columns.

Only members with a counted purchase by the end of the scope's last day (and kept by its filters) are present.
A purchase is a programme day with at least one counted order of the member (orders of one day are one purchase);
a receipt is an order. Money is in whole kopecks (int64), days are numbered from 1970-01-01.
"""

from dataclasses import dataclass, fields
from datetime import date

import numpy as np
from django.db import connection

from kopilka.analytics.scope import Scope, counted, day_number, kopecks, local_day
from kopilka.core import sql

GENDER_CODES = {"female": 1, "male": 2}  # 0: not stated
NO_BIRTHDAY = -(10**6)


@dataclass
class MemberFacts:
    member_id: np.ndarray
    first_day: np.ndarray  # day number of the first purchase
    last_day: np.ndarray  # day number of the last purchase up to the scope's end
    purchases: np.ndarray  # purchase days up to the end
    receipts: np.ndarray
    revenue: np.ndarray  # kopecks, up to the end
    period_purchases: np.ndarray  # purchase days within the period
    period_receipts: np.ndarray
    period_revenue: np.ndarray  # kopecks
    period_discount: np.ndarray  # kopecks paid with points in the period
    period_receipts_with_points: np.ndarray
    previous_purchases: np.ndarray  # purchase days within the previous period
    year_purchases: np.ndarray  # purchase days within the 365 days that end with the scope's end
    gender: np.ndarray  # GENDER_CODES
    birthday: np.ndarray  # day number, NO_BIRTHDAY when unknown

    def __len__(self) -> int:
        return len(self.member_id)


def _in(column: str, low: str, high: str | None = None) -> str:
    test = f"{column} >= {low}" + (f" AND {column} < {high}" if high else "")
    return f"CASE WHEN {test} THEN 1 ELSE 0 END"


def _date(param: str) -> str:
    return f"CAST(%({param})s AS date)" if connection.vendor == "postgresql" else f"%({param})s"


def _statement(scope: Scope) -> str:
    start, prev, year = _date("start"), _date("prev_start"), _date("year_start")
    return f"""
    WITH days AS (
        SELECT o.member_id, {local_day("o.purchased_at")} AS day, COUNT(*) AS receipts, SUM(o.total) AS value,
               SUM(o.discount) AS discount, SUM(CASE WHEN o.points_spent > 0 THEN 1 ELSE 0 END) AS with_points
        FROM orders_order o
        WHERE o.member_id IS NOT NULL AND {counted()} AND o.purchased_at < %(until)s
        GROUP BY 1, 2
    )
    SELECT m.id, {day_number("MIN(d.day)")}, {day_number("MAX(d.day)")}, COUNT(*), SUM(d.receipts),
           {kopecks("SUM(d.value)")},
           SUM({_in("d.day", start)}), SUM({_in("d.day", start)} * d.receipts),
           {kopecks(f"SUM({_in('d.day', start)} * d.value)")}, {kopecks(f"SUM({_in('d.day', start)} * d.discount)")},
           SUM({_in("d.day", start)} * d.with_points),
           SUM({_in("d.day", prev, start)}), SUM({_in("d.day", year)}),
           CASE m.gender WHEN 'female' THEN 1 WHEN 'male' THEN 2 ELSE 0 END,
           COALESCE({day_number("m.birthday")}, {NO_BIRTHDAY})
    FROM days d JOIN customers_member m ON m.id = d.member_id
    WHERE {scope.member_condition("m")}
    GROUP BY m.id, m.gender, m.birthday
    ORDER BY m.id
    """


def member_facts(scope: Scope) -> MemberFacts:
    rows = sql.rows(_statement(scope), scope.params())
    matrix = np.array(rows, dtype=np.int64).reshape(len(rows), len(fields(MemberFacts)))
    return MemberFacts(*(matrix[:, index].copy() for index in range(matrix.shape[1])))


def day_of(number: int) -> date:
    return date.fromordinal(date(1970, 1, 1).toordinal() + int(number))


def number_of(day: date) -> int:
    return day.toordinal() - date(1970, 1, 1).toordinal()
