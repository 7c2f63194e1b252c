"""Per-member purchase facts for a scope, as numpy columns.

Only members with a counted purchase by the end of the scope's last day (and kept by its filters) are present, in
member id order. A purchase is a programme day with at least one counted order of the member (orders of one day are
one purchase); a receipt is an order. Money is in whole kopecks (int64), days are numbered from 1970-01-01.

How: the database hands over two numbers per counted order — member and programme day packed in one integer, and
the total in kopecks — and numpy sorts and folds them by member; PostgreSQL sends each column as one binary string
(string_agg of int8send), which costs little more than scanning the orders. Grouping by member and day in SQL instead
cost ten times a bare GROUP BY on ten million receipts.
"""

from dataclasses import dataclass
from datetime import date

import numpy as np
from django.db import connection

from kopilka.analytics.data.scope import Scope, counted
from kopilka.core import sql
from kopilka.core.sql import day_number, local_day

GENDER_CODES = {"female": 1, "male": 2}  # 0: not stated
NO_BIRTHDAY = -(10**6)
DAY_BITS = 16  # a day number below 2^16: up to the year 2149
_BIRTHDAY_OFFSET = 100_001  # birthdays from 1696 on fit in 18 bits after this offset (0: unknown)


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
    previous_purchases: np.ndarray  # purchase days within the previous period
    year_purchases: np.ndarray  # purchase days within the 365 days that end with the scope's end
    gender: np.ndarray  # GENDER_CODES
    birthday: np.ndarray  # day number, NO_BIRTHDAY when unknown

    def __len__(self) -> int:
        return len(self.member_id)


def columns(expressions: list[str], source: str, params: dict) -> list[np.ndarray]:
    """int64 columns of a query ("SELECT <expressions> <source>"): on PostgreSQL each column comes as one binary
    string, elsewhere as rows. Every expression must be a non-null integer."""
    if connection.vendor == "postgresql":
        packed = ", ".join(f"string_agg(int8send(CAST({e} AS bigint)), '')" for e in expressions)
        found = sql.rows(f"SELECT {packed} {source}", params)[0]
        return [np.frombuffer(value or b"", dtype=">i8").astype(np.int64) for value in found]
    rows = sql.rows(f"SELECT {', '.join(expressions)} {source}", params)
    matrix = np.array(rows, dtype=np.int64).reshape(len(rows), len(expressions))
    return [matrix[:, index].copy() for index in range(len(expressions))]


def _kept(scope: Scope) -> tuple[str, str]:
    """(join, condition) that keep the orders of members the scope's filters keep."""
    if not scope.filters:
        return "", ""
    return "JOIN customers_member m ON m.id = o.member_id", f"AND {scope.member_condition('m')}"


def _orders(scope: Scope) -> tuple[np.ndarray, np.ndarray]:
    """(member id · 2^16 + programme day, total in kopecks) of every counted order of a kept member by the end."""
    join, condition = _kept(scope)
    key = f"o.member_id * {1 << DAY_BITS} + {day_number(local_day('o.purchased_at'))}"
    return tuple(columns([key, "ROUND(o.total * 100)"], f"""
        FROM orders_order o {join}
        WHERE o.member_id IS NOT NULL AND {counted()} AND o.purchased_at < %(until)s {condition}""", scope.params()))


def _people(scope: Scope) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(member id, gender code, birthday number) of the kept members, by member id."""
    birthday = f"COALESCE({day_number('m.birthday')} + {_BIRTHDAY_OFFSET}, 0)"
    gender = "CASE m.gender WHEN 'female' THEN 1 WHEN 'male' THEN 2 ELSE 0 END"
    (packed,) = columns([f"m.id * {1 << 20} + {gender} * {1 << 18} + {birthday}"],
                        f"FROM customers_member m WHERE {scope.member_condition('m')}", scope.params())
    packed = np.sort(packed)
    born = packed & ((1 << 18) - 1)
    return packed >> 20, (packed >> 18) & 3, np.where(born == 0, NO_BIRTHDAY, born - _BIRTHDAY_OFFSET)


def fold(keys: np.ndarray, values: np.ndarray, scope: Scope) -> dict[str, np.ndarray]:
    """Per member, from one (member·2^16 + day, kopecks) pair per order: the MemberFacts columns but gender and
    birthday. Sums go by member id (bincount, no sort); purchase days are the distinct keys (one sort of the keys)."""
    names = ("member_id", "first_day", "last_day", "purchases", "receipts", "revenue", "period_purchases",
             "period_receipts", "period_revenue", "previous_purchases", "year_purchases")
    if len(keys) == 0:
        return {name: np.zeros(0, dtype=np.int64) for name in names}
    mask = (1 << DAY_BITS) - 1
    start, previous, year = number_of(scope.start), number_of(scope.previous.start), number_of(scope.end) - 364
    member, day = keys >> DAY_BITS, keys & mask
    size = int(member.max()) + 1

    def by_member(ids: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        return np.rint(np.bincount(ids, weights=weights, minlength=size)).astype(np.int64)

    in_period = day >= start
    receipts, revenue = by_member(member), by_member(member, values)
    period_receipts, period_revenue = by_member(member, in_period), by_member(member, values * in_period)
    days = np.sort(keys)  # np.unique is many times slower on millions of keys
    days = days[np.r_[True, days[1:] != days[:-1]]]  # one per member and purchase day, by member then day
    day_member, day_number_ = days >> DAY_BITS, days & mask
    present = np.flatnonzero(receipts)
    starts = np.flatnonzero(np.r_[True, day_member[1:] != day_member[:-1]])
    ends = np.r_[starts[1:], len(days)]
    return {
        "member_id": present.astype(np.int64), "first_day": day_number_[starts], "last_day": day_number_[ends - 1],
        "purchases": (ends - starts).astype(np.int64), "receipts": receipts[present], "revenue": revenue[present],
        "period_purchases": by_member(day_member, day_number_ >= start)[present],
        "period_receipts": period_receipts[present], "period_revenue": period_revenue[present],
        "previous_purchases": by_member(day_member, (day_number_ >= previous) & (day_number_ < start))[present],
        "year_purchases": by_member(day_member, day_number_ >= year)[present],
    }


def member_facts(scope: Scope) -> MemberFacts:
    folded = fold(*_orders(scope), scope)
    people, gender, birthday = _people(scope)
    at = np.searchsorted(people, folded["member_id"])
    return MemberFacts(**folded, gender=gender[at], birthday=birthday[at])


def day_of(number: int) -> date:
    return date.fromordinal(date(1970, 1, 1).toordinal() + int(number))


def number_of(day: date) -> int:
    return day.toordinal() - date(1970, 1, 1).toordinal()
