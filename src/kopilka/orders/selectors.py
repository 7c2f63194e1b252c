"""Reads of a member's purchase history for the layers above (campaign conditions, tiers), each one indexed,
bounded query that answers exactly what was asked — never a load of the whole history into Python.

Counted orders are the paid, shipped and completed ones (`COUNTED_STATUSES`) up to the moment asked about.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import OuterRef, QuerySet

from kopilka.catalog.models import Product, ProductGroup
from kopilka.core import sql
from kopilka.orders.models import COUNTED_STATUSES, Order, OrderLine

KOPECK = Decimal("0.01")
_ORDERS, _LINES = Order._meta.db_table, OrderLine._meta.db_table
_COUNTED = ", ".join(f"'{status}'" for status in COUNTED_STATUSES)


@dataclass(frozen=True)
class Bought:
    """"Any of `skus`, or a product of `groups` (subgroups included), within `within_days` (None: ever)"."""

    skus: Sequence[str]
    groups: Sequence[str]
    within_days: int | None


@dataclass(frozen=True)
class HistoryAnswers:
    orders: dict[int | None, int]  # window in days (None: all time) → counted orders
    spent: dict[int | None, Decimal]  # window → their totals
    first_at: datetime | None
    last_at: datetime | None
    last_bought: list[datetime | None]  # per `Bought` asked, the last such purchase


def _counted(alias: str) -> str:
    return (f"{alias}.member_id = %s AND {alias}.status IN ({_COUNTED}) AND {alias}.purchased_at <= %s "
            f"AND {alias}.id <> %s")


def history_answers(
    member_id: int,
    now: datetime,
    *,
    windows: Sequence[int | None] = (),
    bought: Sequence[Bought] = (),
    exclude_order: int | None = None,
) -> HistoryAnswers:
    """Counted orders and their exact sum over each window, the first and last purchase, and the last purchase of
    each `bought`, up to `now` and without `exclude_order` (the purchase being decided on): one statement, over the
    member's rows of the (member, purchased at) index."""
    scope = [member_id, sql.at(now), exclude_order or 0]
    columns, params = [], []
    for days in windows:
        if days is None:
            columns += ["COUNT(*)", sql.exact_sum("o.total", sql.KOPECKS)]
        else:
            columns += ["SUM(CASE WHEN o.purchased_at > %s THEN 1 ELSE 0 END)",
                        sql.exact_sum("o.total", sql.KOPECKS, when="o.purchased_at > %s")]
            params += [sql.at(now - timedelta(days=days))] * 2
    columns += ["MIN(o.purchased_at)", "MAX(o.purchased_at)"]
    for wanted in bought:
        since = "" if wanted.within_days is None else " AND b.purchased_at > %s"
        columns.append(
            f"(SELECT MAX(b.purchased_at) FROM {_ORDERS} b JOIN {_LINES} l ON l.order_id = b.id"
            f" WHERE {_counted('b')}{since} AND (l.sku IN ({sql.placeholders(wanted.skus)})"
            f" OR l.sku IN (SELECT p.sku FROM {Product._meta.db_table} p"
            f" JOIN {ProductGroup._meta.db_table} g ON g.id = p.group_id"
            f" JOIN {ProductGroup._meta.db_table} r ON g.path LIKE r.path || '%%'"
            f" WHERE r.code IN ({sql.placeholders(wanted.groups)}))))"
        )
        params += scope + ([sql.at(now - timedelta(days=wanted.within_days))] if since else [])
        params += [*wanted.skus, *wanted.groups]
    row = sql.rows(f"SELECT {', '.join(columns)} FROM {_ORDERS} o WHERE {_counted('o')}", params + scope)[0]
    orders, spent = {}, {}
    for index, days in enumerate(windows):
        orders[days] = int(row[2 * index] or 0)
        spent[days] = (Decimal(int(row[2 * index + 1])) / 100).quantize(KOPECK)
    rest = row[2 * len(windows):]
    return HistoryAnswers(orders, spent, sql.moment(rest[0]), sql.moment(rest[1]),
                          [sql.moment(value) for value in rest[2:]])


def turnover(member_id: int, now: datetime, windows: Sequence[int]) -> dict[int, Decimal]:
    """What the member paid (after points) for counted purchases over each window of days up to `now`, less what was
    returned: per line, the kept share of its amount rounded down to the kopeck. One statement, computed in whole
    kopecks on either database."""
    if not windows:
        return {}
    kept = ("CAST(ROUND((l.amount - l.discount) * 100) AS BIGINT) * CAST(ROUND((l.quantity - l.returned_quantity)"
            " * 1000) AS BIGINT) / CAST(ROUND(l.quantity * 1000) AS BIGINT)")
    columns = ", ".join(f"SUM(CASE WHEN o.purchased_at > %s THEN {kept} ELSE 0 END)" for _ in windows)
    row = sql.rows(
        f"SELECT {columns} FROM {_ORDERS} o JOIN {_LINES} l ON l.order_id = o.id WHERE {_counted('o')}"
        f" AND o.purchased_at > %s",
        [*(sql.at(now - timedelta(days=days)) for days in windows), member_id, sql.at(now), 0,
         sql.at(now - timedelta(days=max(windows)))],
    )[0]
    return {days: Decimal(int(value or 0)) / 100 for days, value in zip(windows, row, strict=True)}


def counted_purchases(member_id: int, now: datetime, exclude_order: int | None = None
                      ) -> list[tuple[int, datetime, Decimal, frozenset[str]]]:
    """Every counted purchase of the member up to `now` as (order id, purchased at, total, SKUs): the whole history,
    for the member card, previews and reports — the purchase path asks `history_answers` instead."""
    found: dict[int, tuple[datetime, Decimal, set[str]]] = {}
    for pk, at, total, sku in sql.rows(
        f"SELECT o.id, o.purchased_at, o.total, l.sku FROM {_ORDERS} o"
        f" LEFT JOIN {_LINES} l ON l.order_id = o.id AND l.sku <> '' WHERE {_counted('o')} ORDER BY o.id",
        [member_id, sql.at(now), exclude_order or 0],
    ):
        _, _, skus = found.setdefault(pk, (sql.moment(at), sql.money(total), set()))
        if sku:
            skus.add(sku)
    return [(pk, at, total, frozenset(skus)) for pk, (at, total, skus) in found.items()]


def counted_orders(now: datetime, within_days: int | None = None) -> QuerySet[Order]:
    """Counted orders up to `now` (within the window) of the member an outer query names (`OuterRef("pk")`), for
    the eligibility SQL's subqueries: one row per member to aggregate."""
    orders = Order.objects.filter(member_id=OuterRef("pk"), status__in=COUNTED_STATUSES, purchased_at__lte=now)
    if within_days is not None:
        orders = orders.filter(purchased_at__gt=now - timedelta(days=within_days))
    return orders.order_by().values("member_id")


def counted_lines(now: datetime, within_days: int | None = None) -> QuerySet[OrderLine]:
    """Lines of counted orders up to `now` (within the window) of the member an outer query names."""
    lines = OrderLine.objects.filter(order__member_id=OuterRef("pk"), order__status__in=COUNTED_STATUSES,
                                     order__purchased_at__lte=now)
    if within_days is not None:
        lines = lines.filter(order__purchased_at__gt=now - timedelta(days=within_days))
    return lines
