"""Cuts (SPEC §7.2): points accrued, spent and burned, and sales, by period (day, week, month) and by a segment —
member region, kind, tier, registration source, campaign or product group.

Same definitions as the KPIs: accrued = accruals + manual credits − accruals taken back; spent = spending − spent
points given back; burned = expired points; sales are counted orders of the members the scope keeps (the segment
"membership" sets them against non-members). A period is labelled by its first day (a week starts on Monday).
"""

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection
from django.utils.translation import gettext_lazy as _

from kopilka.analytics.data.scope import Scope, counted, kopecks_sum
from kopilka.analytics.presentation.tables import COUNT, MONEY, Column, Table
from kopilka.catalog.models import PATH_DIGITS
from kopilka.core import clock, sql
from kopilka.core.errors import ValidationFailed
from kopilka.core.sql import local_day

PERIODS = ("day", "week", "month")
POINT_SEGMENTS = ("none", "region", "kind", "tier", "source", "campaign", "group")
SALES_SEGMENTS = ("none", "membership", "region", "kind", "tier", "source", "group")
_MEMBER_SEGMENTS = {
    "none": "''", "region": "COALESCE(r.name, '')", "kind": "m.kind", "tier": "COALESCE(t.name, '')",
    "source": "m.registration_source",
}
_MEMBER_JOINS = """LEFT JOIN customers_region r ON r.id = m.region_id
    LEFT JOIN tiers_membertier mt ON mt.member_id = m.id LEFT JOIN tiers_tier t ON t.id = mt.tier_id"""
# the root product group of a SKU ('' when the SKU is not in the catalogue)
_GROUP_JOINS = f"""LEFT JOIN catalog_product p ON p.sku = l.sku LEFT JOIN catalog_productgroup g ON g.id = p.group_id
    LEFT JOIN catalog_productgroup root ON root.path = SUBSTR(g.path, 1, {PATH_DIGITS + 2})"""


def bucket(column: str, by: str) -> str:
    """SQL for the first programme day of the period (day, week from Monday, month) holding a timestamp column."""
    if by not in PERIODS:
        raise ValidationFailed(_("Unknown period: %(by)s.") % {"by": by}, code="unknown_period",
                               details={"allowed": list(PERIODS)})
    if by == "day":
        return local_day(column)
    if connection.vendor == "postgresql":
        return f"CAST(date_trunc('{by}', {column} AT TIME ZONE %(tz)s) AS date)"
    if by == "week":
        return f"date({local_day(column)}, '-6 days', 'weekday 1')"
    return f"strftime('%%Y-%%m-01', {local_day(column)})"


def periods(scope: Scope, by: str) -> list[date]:
    """The first days of every period (day, week from Monday, month) that the scope touches, in order."""
    if by == "day":
        first, step = scope.start, None
    elif by == "week":
        first, step = scope.start - timedelta(days=scope.start.weekday()), None
    else:
        first, step = scope.start.replace(day=1), "month"
    found = []
    while first <= scope.end:
        found.append(first)
        first = clock.last_day_of_month(first) + timedelta(days=1) if step else first + timedelta(
            days=1 if by == "day" else 7)
    return found


def _check(segment: str, allowed: tuple[str, ...]) -> None:
    if segment not in allowed:
        raise ValidationFailed(_("Unknown segment: %(segment)s.") % {"segment": segment}, code="unknown_segment",
                               details={"allowed": list(allowed)})


def points(scope: Scope, by: str = "month", segment: str = "none") -> Table:
    _check(segment, POINT_SEGMENTS)
    if segment == "group":
        return _points_by_group(scope, by)
    label = "COALESCE(op.campaign, '')" if segment == "campaign" else _MEMBER_SEGMENTS[segment]
    campaign_join = "LEFT JOIN orders_orderpoints op ON op.entry_id = e.id" if segment == "campaign" else ""
    statement = f"""
        SELECT {bucket("e.effective_at", by)}, {label},
               SUM(CASE WHEN e.kind IN ('accrual', 'reversal') OR (e.kind = 'adjustment' AND e.amount > 0)
                        THEN e.amount ELSE 0 END),
               -SUM(CASE WHEN e.kind IN ('spend', 'restore') THEN e.amount ELSE 0 END),
               -SUM(CASE WHEN e.kind = 'expiry' THEN e.amount ELSE 0 END)
        FROM ledger_entry e JOIN ledger_account a ON a.id = e.account_id JOIN customers_member m ON m.id = a.member_id
        {_MEMBER_JOINS} {campaign_join}
        WHERE e.effective_at >= %(since)s AND e.effective_at < %(until)s AND {scope.member_condition("m")}
        GROUP BY 1, 2"""
    totals: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
    for period, name, accrued, spent, burned in sql.rows(statement, scope.params()):
        if segment == "campaign":
            name = name.rsplit(":v", 1)[0]  # every version of a campaign is the campaign
        row = totals[(sql.day(period), name)]
        row[0], row[1], row[2] = row[0] + int(accrued), row[1] + int(spent), row[2] + int(burned)
    return _points_table(by, segment, totals)


def _points_by_group(scope: Scope, by: str) -> Table:
    """Points accrued and spent on receipts by the root product group of the receipt line they were for (points
    outside receipts have no line and are left out; nothing burns by group)."""
    if connection.vendor == "postgresql":
        lines = "CROSS JOIN jsonb_each_text(op.by_line) AS share(key, value)"
        share_line, share_points = "CAST(share.key AS integer)", "CAST(share.value AS bigint)"
    else:
        lines = "CROSS JOIN json_each(op.by_line) AS share"
        share_line, share_points = "CAST(share.key AS integer)", "CAST(share.value AS integer)"
    statement = f"""
        SELECT {bucket("op.created_at", by)}, COALESCE(root.name, ''),
               SUM(CASE op.kind WHEN 'earn' THEN {share_points} WHEN 'reversal' THEN -{share_points} ELSE 0 END),
               SUM(CASE op.kind WHEN 'spend' THEN {share_points} WHEN 'restore' THEN -{share_points} ELSE 0 END)
        FROM orders_orderpoints op {lines}
        JOIN orders_order o ON o.id = op.order_id JOIN customers_member m ON m.id = o.member_id
        LEFT JOIN orders_orderline l ON l.order_id = op.order_id AND l.line_no = {share_line}
        {_GROUP_JOINS}
        WHERE op.created_at >= %(since)s AND op.created_at < %(until)s AND {scope.member_condition("m")}
        GROUP BY 1, 2"""
    totals: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0])
    for period, name, earned, spent in sql.rows(statement, scope.params()):
        totals[(sql.day(period), name)] = [int(earned), int(spent), 0]
    return _points_table(by, "group", totals)


def _points_table(by: str, segment: str, totals: dict) -> Table:
    columns = [Column("period", _("period")), Column("segment", _("segment")),
               Column("accrued", _("accrued"), kind=COUNT), Column("spent", _("spent"), kind=COUNT),
               Column("burned", _("burned"), kind=COUNT)]
    rows = [[period, name or "—", *values] for (period, name), values in sorted(totals.items())]
    return Table(f"points-by-{by}-{segment}", _("Points by period"), columns, rows)


def sales(scope: Scope, by: str = "month", segment: str = "none") -> Table:
    _check(segment, SALES_SEGMENTS)
    if segment == "group":
        value, joins = "l.amount", f"JOIN orders_orderline l ON l.order_id = o.id {_GROUP_JOINS}"
        label = "COALESCE(root.name, '')"
    else:
        value, joins = "o.total", ""
        label = ("CASE WHEN o.member_id IS NULL THEN 'non_members' ELSE 'members' END" if segment == "membership"
                 else _MEMBER_SEGMENTS[segment])
    members_only = "" if segment == "membership" else "AND o.member_id IS NOT NULL"
    statement = f"""
        SELECT {bucket("o.purchased_at", by)}, {label}, COUNT(DISTINCT o.member_id), COUNT(DISTINCT o.id),
               {kopecks_sum(value)}
        FROM orders_order o LEFT JOIN customers_member m ON m.id = o.member_id {_MEMBER_JOINS} {joins}
        WHERE {counted()} AND o.purchased_at >= %(since)s AND o.purchased_at < %(until)s {members_only}
          AND (o.member_id IS NULL OR {scope.member_condition("m")})
        GROUP BY 1, 2 ORDER BY 1, 2"""
    rows = [[sql.day(period), str(_MEMBERSHIP.get(name, name)) or "—", int(buyers), int(receipts),
             (Decimal(int(revenue)) / 100).quantize(Decimal("0.01"))]
            for period, name, buyers, receipts, revenue in sql.rows(statement, scope.params())]
    columns = [Column("period", _("period")), Column("segment", _("segment"), True),
               Column("buyers", _("members"), kind=COUNT), Column("receipts", _("receipts"), kind=COUNT),
               Column("revenue", _("revenue"), kind=MONEY)]
    return Table(f"sales-by-{by}-{segment}", _("Sales by period"), columns, rows)


_MEMBERSHIP = {"members": _("members"), "non_members": _("non-members")}
