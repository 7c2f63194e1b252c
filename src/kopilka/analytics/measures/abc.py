"""ABC analysis (SPEC §7.3) of the member base — or of the goods — by revenue in the scope's days.

Ranking is by revenue, descending. With R the total revenue and P(x) the revenue of those with strictly more
revenue than x, x is in class A if P(x) < a % of R, in class B if P(x) < (a + b) % of R, else in class C
(defaults: a = 80, b = 15, so C is the last 5 %). So whoever straddles a boundary — whose revenue carries the
running total across it — belongs to the upper class (A holds at least a % of the revenue, A and B together at
least a + b %), and equal revenue always means the same class.
- members: revenue is the sum of the totals of their counted orders in the scope (as the KPIs count it: a partial
  return does not change a total), receipts are those orders; only members the scope's filters keep;
- goods, by SKU or by the product group of the line's product: revenue is the line amounts net of returned
  quantities (amount × kept quantity / quantity, in whole kopecks per line), quantity is what was kept; lines of
  members' counted orders only; lines whose SKU is not in the catalogue or has no group make one group "".
Money sums are exact (whole kopecks; quantities in thousandths); shares are fractions rounded to 4 places.
"""

from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

import numpy as np
from django.utils.translation import gettext_lazy as _

from kopilka.analytics.data.scope import Scope, counted, kopecks_sum, roubles, share, thousandths_sum
from kopilka.analytics.presentation.tables import COUNT, MONEY, NUMBER, SHARE, Column, Table
from kopilka.core import sql
from kopilka.core.errors import ValidationFailed

CLASSES = ("A", "B", "C")
GOODS = ("sku", "group")
DEFAULT_A, DEFAULT_B = Decimal(80), Decimal(15)


def check_thresholds(a: Decimal, b: Decimal) -> None:
    """a in (0, 100], b in [0, 100 − a], as percentages of the revenue."""
    if not (0 < a <= 100 and 0 <= b <= 100 - a):
        raise ValidationFailed(
            _("Class A takes more than 0 % and class B at least 0 % of the revenue, together at most 100 %."),
            code="abc_thresholds", details={"a": str(a), "b": str(b)})


def _cut(percent: Decimal, total: int) -> int:
    """The least integer not below percent % of total: P < percent % of total ⇔ P < _cut (P an integer)."""
    return int((Decimal(percent) * total / 100).to_integral_value(rounding=ROUND_CEILING))


def classify(revenue: np.ndarray, a: Decimal = DEFAULT_A, b: Decimal = DEFAULT_B) -> np.ndarray:
    """The class of each entry of `revenue` (int64 kopecks) by the rule above: 0 for A, 1 for B, 2 for C."""
    check_thresholds(a, b)
    revenue = np.asarray(revenue, dtype=np.int64)
    order = np.argsort(-revenue, kind="stable")
    ranked = revenue[order]
    before = np.cumsum(ranked) - ranked
    above = before[np.searchsorted(-ranked, -ranked, side="left")]  # the first of equals: strictly more revenue
    total = int(ranked.sum())
    classes = np.empty(len(revenue), dtype=np.int8)
    classes[order] = np.where(above < _cut(a, total), 0, np.where(above < _cut(a + b, total), 1, 2))
    return classes


def _window(scope: Scope) -> str:
    return (f"{counted()} AND o.purchased_at >= %(since)s AND o.purchased_at < %(until)s"
            f" AND {scope.member_condition('m')}")


@dataclass(frozen=True)
class MemberClass:
    name: str  # "A", "B" or "C"
    members: int
    receipts: int
    revenue: Decimal
    member_share: float | None  # of the members with purchases in the scope
    revenue_share: float | None

    @property
    def mean_receipt(self) -> Decimal | None:
        return (self.revenue / self.receipts).quantize(Decimal("0.01")) if self.receipts else None

    @property
    def receipts_per_member(self) -> float | None:
        return round(self.receipts / self.members, 4) if self.members else None


@dataclass(frozen=True)
class MemberAbc:
    scope: Scope
    a: Decimal
    b: Decimal
    member_id: np.ndarray  # int64, ascending: members with a counted order in the scope
    receipts: np.ndarray  # int64
    revenue: np.ndarray  # int64 kopecks
    classes: np.ndarray  # int8: 0 A, 1 B, 2 C

    def summary(self) -> list[MemberClass]:
        """Classes A, B and C, empty ones included."""
        members, total = len(self.member_id), int(self.revenue.sum())
        result = []
        for index, name in enumerate(CLASSES):
            mine = self.classes == index
            revenue = int(self.revenue[mine].sum())
            result.append(MemberClass(name, int(mine.sum()), int(self.receipts[mine].sum()), roubles(revenue),
                                      share(mine.sum(), members), share(revenue, total)))
        return result

    def table(self) -> Table:
        columns = [Column("class", _("class")), Column("members", _("members"), kind=COUNT),
                   Column("member_share", _("share of members"), kind=SHARE),
                   Column("revenue", _("revenue"), kind=MONEY),
                   Column("revenue_share", _("share of revenue"), kind=SHARE),
                   Column("mean_receipt", _("average receipt"), kind=MONEY),
                   Column("receipts_per_member", _("purchases per member"), kind=NUMBER)]
        rows = [[c.name, c.members, c.member_share, c.revenue, c.revenue_share, c.mean_receipt,
                 c.receipts_per_member] for c in self.summary()]
        return Table("abc-members", _("ABC analysis of members"), columns, rows)


def members_abc(scope: Scope, a: Decimal = DEFAULT_A, b: Decimal = DEFAULT_B) -> MemberAbc:
    """Each member with a counted order in the scope, their receipts and revenue, and their class."""
    check_thresholds(a, b)
    statement = f"""
        SELECT o.member_id, COUNT(*), {kopecks_sum("o.total")}
        FROM orders_order o JOIN customers_member m ON m.id = o.member_id
        WHERE {_window(scope)}
        GROUP BY o.member_id ORDER BY o.member_id"""
    data = np.array(sql.rows(statement, scope.params()), dtype=np.int64).reshape(-1, 3)
    return MemberAbc(scope, a, b, data[:, 0].copy(), data[:, 1].copy(), data[:, 2].copy(),
                     classify(data[:, 2], a, b))


@dataclass(frozen=True)
class GoodsClass:
    name: str  # "A", "B" or "C"
    goods: int
    revenue: Decimal
    quantity: Decimal
    goods_share: float | None
    revenue_share: float | None


@dataclass(frozen=True)
class GoodsAbc:
    scope: Scope
    by: str  # "sku" | "group"
    a: Decimal
    b: Decimal
    keys: list[str]  # SKU or group code ("" for lines without a group), by revenue descending, then key
    names: list[str]  # product or group name
    revenue: np.ndarray  # int64 kopecks
    quantity: np.ndarray  # int64 thousandths of a unit
    classes: np.ndarray  # int8: 0 A, 1 B, 2 C

    def summary(self) -> list[GoodsClass]:
        goods, total = len(self.keys), int(self.revenue.sum())
        result = []
        for index, name in enumerate(CLASSES):
            mine = self.classes == index
            revenue = int(self.revenue[mine].sum())
            result.append(GoodsClass(name, int(mine.sum()), roubles(revenue), _units(self.quantity[mine].sum()),
                                     share(mine.sum(), goods), share(revenue, total)))
        return result

    def table(self) -> Table:
        label = _("SKUs") if self.by == "sku" else _("product groups")
        columns = [Column("class", _("class")), Column("goods", label, kind=COUNT),
                   Column("goods_share", _("share of goods"), kind=SHARE), Column("revenue", _("revenue"), kind=MONEY),
                   Column("revenue_share", _("share of revenue"), kind=SHARE),
                   Column("quantity", _("quantity"), kind=NUMBER)]
        rows = [[c.name, c.goods, c.goods_share, c.revenue, c.revenue_share, c.quantity] for c in self.summary()]
        title = _("ABC analysis of SKUs") if self.by == "sku" else _("ABC analysis of product groups")
        return Table(f"abc-{self.by}", title, columns, rows)

    def goods_table(self) -> Table:
        """One row per SKU or group, by revenue descending, with its running share of the revenue and class."""
        total = int(self.revenue.sum())
        running = np.cumsum(self.revenue)
        columns = [Column("key", _("SKU") if self.by == "sku" else _("product group code")),
                   Column("name", _("name")), Column("revenue", _("revenue"), kind=MONEY),
                   Column("revenue_share", _("share of revenue"), kind=SHARE),
                   Column("running_share", _("running share"), kind=SHARE),
                   Column("quantity", _("quantity"), kind=NUMBER), Column("class", _("class"))]
        rows = [[key, name, roubles(revenue), share(revenue, total), share(run, total), _units(quantity),
                 CLASSES[klass]] for key, name, revenue, run, quantity, klass in
                zip(self.keys, self.names, self.revenue, running, self.quantity, self.classes, strict=True)]
        title = _("SKUs by class") if self.by == "sku" else _("Product groups by class")
        return Table(f"abc-{self.by}-list", title, columns, rows)


def _units(thousandths) -> Decimal:
    return (Decimal(int(thousandths)) / 1000).quantize(Decimal("0.001"))


_KEPT_KOPECKS = """CASE WHEN l.returned_quantity = 0 THEN ROUND(l.amount * 100)
                       ELSE ROUND(l.amount * 100.0 * (l.quantity - l.returned_quantity) / l.quantity) END"""


def goods_abc(scope: Scope, by: str = "sku", a: Decimal = DEFAULT_A, b: Decimal = DEFAULT_B) -> GoodsAbc:
    """Each SKU (or product group) sold to members in the scope, its net revenue and quantity, and its class."""
    if by not in GOODS:
        raise ValidationFailed(_("Goods are classed by SKU or by product group."), code="unknown_goods",
                               details={"by": by, "allowed": list(GOODS)})
    check_thresholds(a, b)
    if by == "sku":
        key, name, joins = "l.sku", "COALESCE(MAX(p.name), '')", ""
        group = "l.sku"
    else:
        key, name = "COALESCE(g.code, '')", "COALESCE(MAX(g.name), '')"
        joins, group = "LEFT JOIN catalog_productgroup g ON g.id = p.group_id", "COALESCE(g.code, '')"
    statement = f"""
        SELECT {key}, {name}, CAST(SUM({_KEPT_KOPECKS}) AS BIGINT),
               {thousandths_sum("l.quantity - l.returned_quantity")}
        FROM orders_orderline l JOIN orders_order o ON o.id = l.order_id
        JOIN customers_member m ON m.id = o.member_id
        LEFT JOIN catalog_product p ON p.sku = l.sku {joins}
        WHERE {_window(scope)}
        GROUP BY {group}"""
    rows = sorted(sql.rows(statement, scope.params()), key=lambda row: (-int(row[2]), row[0]))
    revenue = np.array([row[2] for row in rows], dtype=np.int64)
    quantity = np.array([row[3] for row in rows], dtype=np.int64)
    return GoodsAbc(scope, by, a, b, [row[0] for row in rows], [row[1] for row in rows], revenue, quantity,
                    classify(revenue, a, b))
