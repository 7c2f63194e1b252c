"""Cohort retention (SPEC §7.1): of the members who first bought (or registered) in a month or a week, how many
bought in each period after it, and what they spent.

Definitions (purchases are members' counted orders — paid, shipped, completed; days in the programme time zone):
- periods are calendar months, or weeks from Monday to Sunday; the periods at either end of the scope are cut to
  its days, so give whole months (weeks) for whole periods;
- a member's cohort is the period of their first counted order ever (basis "purchase") or of their registration
  (basis "registration"), if that day lies within the scope and the scope's member filters keep the member; a
  member who first bought before the scope belongs to an earlier cohort, which is not shown;
- the cell (cohort c, offset k) counts the cohort's members with a counted order in period c + k within the
  scope, and sums those orders' totals (partial returns do not change a total, as in the KPIs);
- cells whose period ends after the scope's last period are not observed: NaN in the shares, None in tables —
  never 0. With the basis "purchase" offset 0 is always the whole cohort.
One SQL statement (PostgreSQL and SQLite) aggregates by cohort and period; numpy lays out the matrix.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import numpy as np
from django.db import connection
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from kopilka.analytics.data.scope import Scope, counted, kopecks_sum, roubles
from kopilka.analytics.presentation.tables import Column, Table
from kopilka.core import sql
from kopilka.core.errors import ValidationFailed
from kopilka.core.sql import day_number, local_day

GRANULARITIES = ("month", "week")
BASES = ("purchase", "registration")
VALUES = ("share", "members", "revenue")
_DAYS_BEFORE_1970 = date(1970, 1, 1).toordinal() - 1  # days from 0001-01-01, a Monday, to 1970-01-01


def period_index(day: date, by: str) -> int:
    """The number of the month (year × 12 + month − 1) or of the Monday-to-Sunday week holding `day`."""
    if by == "month":
        return day.year * 12 + day.month - 1
    return (day.toordinal() - 1) // 7


def period_start(index: int, by: str) -> date:
    """The first day of the period numbered `index` (inverse of period_index)."""
    if by == "month":
        return date(index // 12, index % 12 + 1, 1)
    return date.fromordinal(index * 7 + 1)


def _period_sql(day: str, by: str) -> str:
    """SQL for period_index of a date expression."""
    if by == "week":
        return f"(({day_number(day)} + {_DAYS_BEFORE_1970}) / 7)"
    if connection.vendor == "postgresql":
        return f"(CAST(EXTRACT(YEAR FROM {day}) AS INTEGER) * 12 + CAST(EXTRACT(MONTH FROM {day}) AS INTEGER) - 1)"
    # SQLite's dates are ISO text
    return f"(CAST(substr({day}, 1, 4) AS INTEGER) * 12 + CAST(substr({day}, 6, 2) AS INTEGER) - 1)"


def _cohorts_sql(scope: Scope, by: str, basis: str) -> str:
    if basis == "registration":
        return f"""
        SELECT m.id AS member_id, {_period_sql(local_day("m.registered_at"), by)} AS cohort
        FROM customers_member m
        WHERE m.registered_at >= %(since)s AND m.registered_at < %(until)s AND {scope.member_condition("m")}"""
    return f"""
        SELECT m.id AS member_id, {_period_sql(local_day("f.first_at"), by)} AS cohort
        FROM (SELECT o.member_id, MIN(o.purchased_at) AS first_at FROM orders_order o
              WHERE o.member_id IS NOT NULL AND {counted()} AND o.purchased_at < %(until)s
              GROUP BY o.member_id) f
        JOIN customers_member m ON m.id = f.member_id
        WHERE f.first_at >= %(since)s AND {scope.member_condition("m")}"""


def _statement(scope: Scope, by: str, basis: str) -> str:
    return f"""
    WITH cohorts AS ({_cohorts_sql(scope, by, basis)}
    ), activity AS (
        SELECT o.member_id, {_period_sql(local_day("o.purchased_at"), by)} AS period,
               {kopecks_sum("o.total")} AS revenue
        FROM orders_order o
        WHERE o.member_id IS NOT NULL AND {counted()} AND o.purchased_at >= %(since)s AND o.purchased_at < %(until)s
        GROUP BY 1, 2
    )
    SELECT c.cohort, a.period, COUNT(*), SUM(a.revenue)
    FROM cohorts c JOIN activity a ON a.member_id = c.member_id
    GROUP BY c.cohort, a.period
    UNION ALL
    SELECT c.cohort, NULL, COUNT(*), 0 FROM cohorts c GROUP BY c.cohort
    """


@dataclass(frozen=True)
class Retention:
    """Rows are cohorts (oldest first), columns offsets 0..n−1 where n is the number of periods in the scope."""

    scope: Scope
    by: str  # "month" | "week"
    basis: str  # "purchase" | "registration"
    cohorts: list[date]  # the first day of each cohort's period
    sizes: np.ndarray  # int64, (n,): members in each cohort
    active: np.ndarray  # int64, (n, n): cohort members with a purchase in period c + k (0 where not observed)
    revenue: np.ndarray  # int64 kopecks, (n, n): their orders' totals in that period
    observed: np.ndarray  # bool, (n, n): c + k is within the scope

    @property
    def shares(self) -> np.ndarray:
        """active / size as a heat map: NaN where not observed or the cohort is empty."""
        with np.errstate(divide="ignore", invalid="ignore"):
            shares = self.active / self.sizes[:, None]
        return np.where(self.observed & (self.sizes[:, None] > 0), shares, np.nan)

    def revenue_per_member(self) -> list[list[Decimal | None]]:
        """Revenue of period c + k over the cohort's size, in roubles; None where not observed or empty."""
        return [[roubles(Decimal(int(self.revenue[c, k])) / int(self.sizes[c]))
                 if self.observed[c, k] and self.sizes[c] else None
                 for k in range(len(self.cohorts))] for c in range(len(self.cohorts))]

    def table(self, value: str = "share") -> Table:
        """One row per cohort: its first day, its size, then `value` at each offset ("share": a fraction rounded to
        4 places; "members"; "revenue": roubles per member of the cohort)."""
        if value not in VALUES:
            raise ValidationFailed(_("Unknown cohort value."), code="unknown_value",
                                   details={"value": value, "allowed": list(VALUES)})
        label = _("month {offset}") if self.by == "month" else _("week {offset}")
        columns = [Column("cohort", _("cohort")), Column("members", _("members"))] + [
            Column(f"{self.by}_{k}", format_lazy(label, offset=k)) for k in range(len(self.cohorts))]
        if value == "share":
            cells = [[None if np.isnan(x) else round(float(x), 4) for x in row] for row in self.shares]
        elif value == "members":
            cells = [[int(x) if seen else None for x, seen in zip(row, mask, strict=True)]
                     for row, mask in zip(self.active, self.observed, strict=True)]
        else:
            cells = self.revenue_per_member()
        titles = {"share": _("Cohort retention"), "members": _("Cohort retention: members who bought"),
                  "revenue": _("Cohort revenue per member")}
        rows = [[start, int(size), *row] for start, size, row in zip(self.cohorts, self.sizes, cells, strict=True)]
        return Table(f"cohorts-{value}", titles[value], columns, rows)


def retention(scope: Scope, by: str = "month", basis: str = "purchase") -> Retention:
    """The cohort matrix of the scope's periods; every period of the scope is a row, empty ones included."""
    if by not in GRANULARITIES:
        raise ValidationFailed(_("Cohorts are by month or by week."), code="unknown_granularity",
                               details={"by": by, "allowed": list(GRANULARITIES)})
    if basis not in BASES:
        raise ValidationFailed(_("A cohort is formed by the first purchase or by registration."),
                               code="unknown_basis", details={"basis": basis, "allowed": list(BASES)})
    first = period_index(scope.start, by)
    n = period_index(scope.end, by) - first + 1
    sizes = np.zeros(n, dtype=np.int64)
    active = np.zeros((n, n), dtype=np.int64)
    revenue = np.zeros((n, n), dtype=np.int64)
    rows = sql.rows(_statement(scope, by, basis), scope.params())
    if rows:
        data = np.array([(c, -1 if p is None else p, m, r) for c, p, m, r in rows], dtype=np.int64)
        cohort, offset = data[:, 0] - first, data[:, 1] - data[:, 0]
        whole = data[:, 1] == -1
        sizes[cohort[whole]] = data[whole, 2]
        cell = ~whole & (offset >= 0)  # a purchase before the registration's period has no offset
        active[cohort[cell], offset[cell]] = data[cell, 2]
        revenue[cohort[cell], offset[cell]] = data[cell, 3]
    index = np.arange(n)
    observed = index[:, None] + index[None, :] < n
    return Retention(scope, by, basis, [period_start(first + c, by) for c in range(n)], sizes, active, revenue,
                     observed)
