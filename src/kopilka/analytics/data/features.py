"""Payment behaviour of each member as of a date: the features the clusters are built on (SPEC §7.3).

Definitions (counted orders only — paid, shipped, completed — up to the end of the as-of programme day):
- `deals`: the member's counted orders (receipts); `revenue`: the sum of their totals in kopecks — the LTV to date;
  `mean_receipt` = revenue / deals;
- a purchase day is a programme day (time zone of the programme) with at least one counted order;
  `span`: days from the first purchase day to the last; `since_last`: days from the last to the as-of date;
- `mean_gap`: span / (purchase days − 1), the mean days between purchases, for members with at least two purchase
  days; a one-off buyer (one purchase day, however many receipts) gets 0, as in the deck's table, and is flagged
  by `repeat` being False so averages of the gap can leave them out;
- categories are the top-level product groups (the root of a line's product group); lines whose SKU is not in the
  catalogue or has no group fall in category 0, "no product group". `spent` holds each member's line amounts by
  category in kopecks, net of returned quantities; the shares of a member's categories add to 1 (all 0 for a
  member whose orders have no lines).
Members without a counted purchase by then are not present; rows are in member id order. One SQL statement
(PostgreSQL and SQLite) computes it, read in chunks into numpy columns.
"""

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from django.db import connection
from django.utils.translation import gettext_lazy as _
from scipy import sparse

from kopilka.analytics.data.scope import counted
from kopilka.catalog.models import PATH_DIGITS, ProductGroup
from kopilka.core import clock, sql
from kopilka.core.sql import days_between, local_day

CHUNK = 100_000
NO_GROUP = 0  # the category of lines without a product group
NO_LINES = -1  # the category of the row of a member whose orders have no lines


@dataclass(frozen=True)
class Behaviour:
    as_of: date
    member_id: np.ndarray  # int64, ascending
    deals: np.ndarray  # int64
    revenue: np.ndarray  # int64 kopecks
    purchase_days: np.ndarray  # int64
    span: np.ndarray  # int64 days
    since_last: np.ndarray  # int64 days
    category_ids: list[int]  # root group id per column of `spent`; NO_GROUP for lines without a group
    category_names: list[str]
    spent: sparse.csr_matrix  # members × categories, int64 kopecks

    def __len__(self) -> int:
        return len(self.member_id)

    @property
    def repeat(self) -> np.ndarray:
        """True for members with at least two purchase days."""
        return self.purchase_days >= 2

    @property
    def mean_receipt(self) -> np.ndarray:
        """Kopecks (float)."""
        return self.revenue / self.deals

    @property
    def mean_gap(self) -> np.ndarray:
        """Mean days between purchase days; 0 for one-off buyers."""
        return np.where(self.repeat, self.span / np.maximum(self.purchase_days - 1, 1), 0.0)

    def shares(self) -> sparse.csr_matrix:
        """members × categories: each member's share of line revenue by category (a row of zeros without lines)."""
        totals = np.asarray(self.spent.sum(axis=1), dtype=float).ravel()
        scale = sparse.diags(np.divide(1.0, totals, out=np.zeros_like(totals), where=totals > 0))
        return sparse.csr_matrix(scale @ self.spent.astype(float))


def _statement() -> str:
    as_of = "CAST(%(as_of)s AS date)" if connection.vendor == "postgresql" else "%(as_of)s"
    # The root's path is the first "/" + id + "/" of the group's path (see ProductGroup.path).
    return f"""
    WITH counted AS (
        SELECT o.id, o.member_id, {local_day("o.purchased_at")} AS day, CAST(ROUND(o.total * 100) AS BIGINT) AS kopecks
        FROM orders_order o
        WHERE o.member_id IS NOT NULL AND {counted()} AND o.purchased_at < %(until)s
    ), buyers AS (
        SELECT member_id, COUNT(*) AS deals, CAST(SUM(kopecks) AS BIGINT) AS revenue,
               COUNT(DISTINCT day) AS days, MIN(day) AS first_day, MAX(day) AS last_day
        FROM counted GROUP BY member_id
    ), spent AS (
        SELECT c.member_id, COALESCE(r.id, {NO_GROUP}) AS category,
               CAST(SUM(ROUND(l.amount * 100.0 * (l.quantity - l.returned_quantity) / NULLIF(l.quantity, 0)))
                    AS BIGINT) AS kopecks
        FROM counted c
        JOIN orders_orderline l ON l.order_id = c.id
        LEFT JOIN catalog_product p ON p.sku = l.sku
        LEFT JOIN catalog_productgroup g ON g.id = p.group_id
        LEFT JOIN catalog_productgroup r ON r.path = SUBSTR(g.path, 1, {PATH_DIGITS + 2})
        GROUP BY c.member_id, COALESCE(r.id, {NO_GROUP})
    )
    SELECT b.member_id, b.deals, b.revenue, b.days, {days_between("b.last_day", "b.first_day")},
           {days_between(as_of, "b.last_day")}, COALESCE(s.category, {NO_LINES}), COALESCE(s.kopecks, 0)
    FROM buyers b LEFT JOIN spent s ON s.member_id = b.member_id
    ORDER BY b.member_id, 7
    """


def _read(statement: str, params: dict) -> np.ndarray:
    """The statement's rows (all integers) as one int64 matrix, fetched in chunks (through a server-side cursor on
    PostgreSQL, so the rows are never all in memory as Python objects)."""
    parts = []
    with connection.chunked_cursor() as cursor:
        cursor.execute(statement, params)
        while chunk := cursor.fetchmany(CHUNK):
            parts.append(np.array(chunk, dtype=np.int64))
    return np.concatenate(parts) if parts else np.zeros((0, 8), dtype=np.int64)


def _category_names(ids: list[int]) -> list[str]:
    names = dict(ProductGroup.objects.filter(pk__in=[i for i in ids if i != NO_GROUP]).values_list("pk", "name"))
    return [str(_("no product group")) if i == NO_GROUP else names[i] for i in ids]


def behaviour(as_of: date) -> Behaviour:
    """The payment behaviour of every member with a counted purchase by the end of `as_of`."""
    params = {
        "tz": str(clock.programme_tz()), "conn_tz": connection.timezone_name, "as_of": as_of.isoformat(),
        "until": sql.at(clock.start_of_day(as_of + timedelta(days=1))),
    }
    rows = _read(_statement(), params)
    member_id, first = np.unique(rows[:, 0], return_index=True)
    position = np.searchsorted(member_id, rows[:, 0])
    with_lines = rows[:, 6] != NO_LINES
    category_ids = np.unique(rows[with_lines, 6])
    spent = sparse.csr_matrix(
        (rows[with_lines, 7], (position[with_lines], np.searchsorted(category_ids, rows[with_lines, 6]))),
        shape=(len(member_id), len(category_ids)), dtype=np.int64,
    )
    ids = [int(i) for i in category_ids]
    return Behaviour(
        as_of=as_of, member_id=member_id, deals=rows[first, 1], revenue=rows[first, 2],
        purchase_days=rows[first, 3], span=rows[first, 4], since_last=rows[first, 5],
        category_ids=ids, category_names=_category_names(ids), spent=spent,
    )
