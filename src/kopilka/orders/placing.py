"""Recording a new order by hand-written SQL, for the hot path of placing one (`purchases.flow.place_order`).

- `look_up` answers in one statement what placing needs to know first: the order already recorded under
  (source, external id), the member's status (optionally locking the member's row, FOR NO KEY UPDATE on
  PostgreSQL) and the region's id.
- `insert` records the order with `ON CONFLICT (source, external_id) DO NOTHING`: an order recorded meanwhile by a
  concurrent duplicate is answered by None, never by an IntegrityError, so no savepoint is needed around it. On
  PostgreSQL the order and its lines are one statement; on SQLite two (the order, then its lines in one insert).
Money and quantities are Decimal, bound as they are; times are bound the way the ORM binds them.
"""

from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from kopilka.core import sql
from kopilka.customers.models import Member, Region
from kopilka.orders.contents import Line
from kopilka.orders.models import Order, OrderLine

_ORDERS, _LINES = Order._meta.db_table, OrderLine._meta.db_table
_MEMBERS, _REGIONS = Member._meta.db_table, Region._meta.db_table


@dataclass(frozen=True)
class Seen:
    """What `look_up` found: the recorded order (id, request hash) or None; the member's status (None: no such
    member, or none asked for); the region's id (None: no such region, or none asked for)."""

    order: tuple[int, str] | None
    member_status: str | None
    region_id: int | None


_ORDER_ID = f"(SELECT o.id FROM {_ORDERS} o WHERE o.source = %(source)s AND o.external_id = %(external_id)s)"
_ORDER_HASH = (f"(SELECT o.request_hash FROM {_ORDERS} o"
               f" WHERE o.source = %(source)s AND o.external_id = %(external_id)s)")
_REGION = f"(SELECT r.id FROM {_REGIONS} r WHERE r.code = %(region)s)"
_LOOK_UP = f"""
SELECT {_ORDER_ID}, {_ORDER_HASH}, (SELECT m.status FROM {_MEMBERS} m WHERE m.id = %(member)s), {_REGION}
"""
# The member's row drives the statement, so that it can be locked (a lock cannot reach the nullable side of an
# outer join); without that row the member does not exist and `look_up` asks again without the lock.
_LOOK_UP_LOCKING = f"""
SELECT {_ORDER_ID}, {_ORDER_HASH}, m.status, {_REGION} FROM {_MEMBERS} m WHERE m.id = %(member)s
"""


def look_up(source: str, external_id: str, member_id: int | None, region: str | None, *,
            lock_member: bool = False) -> Seen:
    """One statement; with `lock_member` (inside a transaction) the member's row is locked as
    `campaigns.locking.lock_points` locks it, the first lock of a placement that takes no budgets."""
    params = {"source": source, "external_id": external_id, "member": member_id, "region": region or None}
    found: list[tuple] = []
    if lock_member and member_id is not None:
        lock = " FOR NO KEY UPDATE OF m" if connection.vendor == "postgresql" else ""
        found = sql.rows(_LOOK_UP_LOCKING + lock, params)
    if not found:
        found = sql.rows(_LOOK_UP, params)
    order_id, request_hash, status, region_id = found[0]
    return Seen(None if order_id is None else (order_id, request_hash), status, region_id)


_ORDER_COLUMNS = ("member_id, source, external_id, purchased_at, total, region_id, status, discount, points_spent,"
                  " items, hold_id, offline, request_hash, import_batch_id, created_at")
_ORDER_VALUES = ("%(member)s, %(source)s, %(external_id)s, %(purchased_at)s, %(total)s, %(region)s, %(status)s,"
                 " %(discount)s, %(points)s, %(items)s, NULL, %(offline)s, %(request_hash)s, NULL, %(created_at)s")
_LINE_COLUMNS = "order_id, line_no, sku, quantity, price, amount, discount, points_spent, returned_quantity"
_INSERT_ORDER = f"""
INSERT INTO {_ORDERS} ({_ORDER_COLUMNS}) VALUES ({_ORDER_VALUES})
ON CONFLICT (source, external_id) DO NOTHING RETURNING id
"""
_INSERT_ORDER_AND_LINES = f"""
WITH o AS ({_INSERT_ORDER}), l AS (
    INSERT INTO {_LINES} ({_LINE_COLUMNS})
    SELECT o.id, x.line_no, x.sku, x.quantity, x.price, x.amount, x.discount, x.points, 0
    FROM o, unnest(%(line_no)s::integer[], %(sku)s::varchar[], %(quantity)s::numeric[], %(price)s::numeric[],
                   %(amount)s::numeric[], %(line_discount)s::numeric[], %(line_points)s::bigint[])
            AS x(line_no, sku, quantity, price, amount, discount, points)
)
SELECT id FROM o
"""


def insert(order: Order, lines: list[Line]) -> int | None:
    """Records `order` (its fields as set, status new, no hold) and its lines; returns its id, or None when an
    order with its (source, external id) exists (nothing is written then). Sets `order.pk` and `created_at`."""
    order.created_at = timezone.now()
    params = {
        "member": order.member_id, "source": order.source, "external_id": order.external_id,
        "purchased_at": sql.at(order.purchased_at), "total": order.total, "region": order.region_id,
        "status": order.status, "discount": order.discount, "points": order.points_spent, "items": order.items,
        "offline": order.offline, "request_hash": order.request_hash, "created_at": sql.at(order.created_at),
    }
    if connection.vendor == "postgresql":
        row = sql.driver_rows(_INSERT_ORDER_AND_LINES, params | {
            "line_no": sql.array([x.line_no for x in lines]), "sku": sql.array([x.sku for x in lines]),
            "quantity": sql.array([x.quantity for x in lines]), "price": sql.array([x.price for x in lines]),
            "amount": sql.array([x.amount for x in lines]), "line_discount": sql.array([x.discount for x in lines]),
            "line_points": sql.array([x.points_spent for x in lines]),
        }, one=True)
    else:
        with connection.cursor() as cursor:
            cursor.execute(_INSERT_ORDER, params)
            row = cursor.fetchone()
            if row is not None and lines:
                values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, 0)"] * len(lines))
                cursor.execute(f"INSERT INTO {_LINES} ({_LINE_COLUMNS}) VALUES {values}", [
                    value for x in lines for value in
                    (row[0], x.line_no, x.sku, x.quantity, x.price, x.amount, x.discount, x.points_spent)
                ])
    if row is None:
        return None
    order.pk = row[0]
    order._state.adding = False
    order._state.db = connection.alias
    return order.pk

