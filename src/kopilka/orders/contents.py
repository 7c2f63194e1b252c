"""An order's lines and points as the faces show them, read in one statement — or not at all when the writer that
just made the order kept them (`keep`).

What is kept must be what the database holds: a writer keeps only contents it wrote in full within the request
(e.g. a new order's lines, and no points before it is paid). Values come back with the columns' scale (quantities to
thousandths, money to kopecks), as the ORM reads them.
"""

from dataclasses import dataclass
from decimal import Decimal

from kopilka.core import sql
from kopilka.orders.models import Order, OrderLine, OrderPoints

THOUSANDTH, KOPECK = Decimal("0.001"), Decimal("0.01")
_KEPT = "_kept_contents"


@dataclass(frozen=True)
class Line:
    line_no: int
    sku: str
    quantity: Decimal
    price: Decimal
    amount: Decimal
    discount: Decimal
    points_spent: int
    returned_quantity: Decimal


@dataclass(frozen=True)
class Points:
    kind: str
    scenario: str
    campaign: str
    points: int
    entry_id: int


def line(line_no: int, sku: str, quantity: Decimal, price: Decimal, amount: Decimal, discount: Decimal,
         points_spent: int, returned_quantity: Decimal = Decimal(0)) -> Line:
    """A line with its values at the columns' scale."""
    return Line(line_no, sku, sql.money(quantity).quantize(THOUSANDTH), sql.money(price).quantize(KOPECK),
                sql.money(amount).quantize(KOPECK), sql.money(discount).quantize(KOPECK), int(points_spent),
                sql.money(returned_quantity).quantize(THOUSANDTH))


def keep(order: Order, *, lines: list[Line], points: list[Points]) -> None:
    """Remember the order's whole contents, so that `of` answers without reading."""
    setattr(order, _KEPT, (lines, points))


_READ = f"""
SELECT 0, line_no, sku, '', '', quantity, price, amount, discount, points_spent, returned_quantity, 0
FROM {OrderLine._meta.db_table} WHERE order_id = %s
UNION ALL
SELECT 1, id, kind, scenario, campaign, 0, 0, 0, 0, points, 0, entry_id
FROM {OrderPoints._meta.db_table} WHERE order_id = %s
ORDER BY 1, 2
"""


def of(order: Order) -> tuple[list[Line], list[Points]]:
    """The order's lines by number and its points in the order they were booked: kept by `keep`, or attached to
    the order as a prefetch would (lines and points both), or else read."""
    kept = getattr(order, _KEPT, None)
    if kept is not None:
        return kept
    attached = order.__dict__.get("_prefetched_objects_cache", {})
    if "lines" in attached and "points" in attached:
        return ([line(x.line_no, x.sku, x.quantity, x.price, x.amount, x.discount, x.points_spent,
                      x.returned_quantity) for x in attached["lines"]],
                [Points(p.kind, p.scenario, p.campaign, p.points, p.entry_id) for p in attached["points"]])
    lines, points = [], []
    for row in sql.rows(_READ, [order.pk, order.pk]):
        if row[0] == 0:
            lines.append(line(row[1], row[2], *row[5:11]))
        else:
            points.append(Points(row[2], row[3], row[4], int(row[9]), int(row[11])))
    return lines, points
