"""The order's rows as the purchase flow reads and writes them, in few statements.

`locked_order` locks the order's row and reads the order, its hold's state and its lines by one statement on
PostgreSQL (a second one when the order changed while it waited for the lock); the
lines and the hold come back already attached to the order (`order.lines.all()` and `order.hold` read nothing
more). `move` changes the status, logs the change and writes the order's new points rows, in one statement on
PostgreSQL; `insert_points` writes points rows alone by one statement; `keep_points` attaches the order's points
rows, so rendering the order reads nothing more either.
"""

import json

from django.db import connection
from django.utils.translation import gettext_lazy as _

from kopilka.core import clock, sql
from kopilka.core.errors import NotFound
from kopilka.ledger import statements
from kopilka.ledger.models import Hold
from kopilka.orders.models import Order, OrderLine, OrderPoints, OrderStatusChange

_ORDER_FIELDS = [field.attname for field in Order._meta.concrete_fields]
_LINE_FIELDS = [field.attname for field in OrderLine._meta.concrete_fields]
_HOLD_FIELDS = ["id", "account_id", "amount", "status", "expires_at"]
_COLUMNS = {
    model: {field.attname: field.column for field in model._meta.concrete_fields} for model in (Order, OrderLine, Hold)
}

_READ = (
    "SELECT " + ", ".join(
        [f"o.{_COLUMNS[Order][name]}" for name in _ORDER_FIELDS]
        + [f"h.{_COLUMNS[Hold][name]}" for name in _HOLD_FIELDS]
        + [f"l.{_COLUMNS[OrderLine][name]}" for name in _LINE_FIELDS]
    )
    + f" FROM {Order._meta.db_table} o LEFT JOIN {Hold._meta.db_table} h ON h.id = o.hold_id"
    f" LEFT JOIN {OrderLine._meta.db_table} l ON l.order_id = o.id WHERE o.id = %(order)s ORDER BY l.line_no"
)
# After waiting for the lock, PostgreSQL gives the order's row as its last writer left it but the joined rows as
# the statement's snapshot saw them. Whoever changes an order's lines changes its row in the same transaction
# (a return keeps `items`), so the lines are fresh unless the locked row is not the snapshot's version; the flag
# compares the two, and the lines are read again when it is false.
_LOCKED_READ = _READ.replace(
    "SELECT ", f"SELECT o.xmin = (SELECT s.xmin FROM {Order._meta.db_table} s WHERE s.id = o.id), ", 1
) + " FOR UPDATE OF o"

_MOVE = f"""
WITH moved AS (UPDATE {Order._meta.db_table} SET status = %(to)s WHERE id = %(order)s RETURNING id)
INSERT INTO {OrderStatusChange._meta.db_table} (order_id, from_status, to_status, actor, changed_at)
SELECT id, %(from)s, %(to)s, %(actor)s, %(at)s FROM moved
"""


def not_found(order_id: int) -> NotFound:
    return NotFound(_("No such order."), code="order_not_found", details={"order_id": order_id})


def locked_order(order_id: int) -> Order:
    """The order, its row locked (FOR UPDATE), with its lines and its hold attached; NotFound when there is none."""
    if not statements.available():
        order = Order.objects.select_for_update(of=("self",)).select_related("hold").filter(pk=order_id).first()
        if order is None:
            raise not_found(order_id)
        keep_lines(order, list(order.lines.all()))
        return order
    rows = sql.rows(_LOCKED_READ, {"order": order_id})
    if not rows:
        raise not_found(order_id)
    if rows[0][0]:
        rows = [row[1:] for row in rows]
    else:  # changed while this waited for the lock: read again, now that the lock is held
        rows = sql.rows(_READ, {"order": order_id})
    first = rows[0]
    order = Order.from_db(connection.alias, _ORDER_FIELDS, first[:len(_ORDER_FIELDS)])
    hold = first[len(_ORDER_FIELDS):len(_ORDER_FIELDS) + len(_HOLD_FIELDS)]
    if hold[0] is not None:
        order.hold = Hold.from_db(connection.alias, _HOLD_FIELDS, hold)
    start = len(_ORDER_FIELDS) + len(_HOLD_FIELDS)
    lines = [OrderLine.from_db(connection.alias, _LINE_FIELDS, row[start:]) for row in rows if row[start] is not None]
    for line in lines:
        line.order = order
    keep_lines(order, lines)
    return order


def _keep(order: Order, name: str, rows: list) -> None:
    """Attach `rows` as the order's `name` related rows, as a prefetch would."""
    query = getattr(order, name).all()
    query._result_cache = rows
    query._prefetch_done = True
    order.__dict__.setdefault("_prefetched_objects_cache", {})[name] = query


def keep_lines(order: Order, lines: list[OrderLine]) -> None:
    """Attach the order's lines (every line, by number)."""
    _keep(order, "lines", sorted(lines, key=lambda line: line.line_no))


def attach_lines(order: Order) -> None:
    """Read and attach the order's lines unless they are attached already."""
    if "lines" not in order.__dict__.get("_prefetched_objects_cache", {}):
        keep_lines(order, list(order.lines.all()))


_POINTS_COLUMNS = "order_id, entry_id, kind, scenario, campaign, points, by_line, undoes_id, created_at"
_POINTS_ARRAYS = ("%(p_order)s::bigint[], %(p_entry)s::bigint[], %(p_kind)s::varchar[], %(p_scenario)s::varchar[], "
                  "%(p_campaign)s::varchar[], %(p_points)s::bigint[], %(p_by_line)s::jsonb[], %(p_undoes)s::bigint[], "
                  "%(p_created_at)s::timestamptz[]")
_INSERT_POINTS = f"""
INSERT INTO {OrderPoints._meta.db_table} ({_POINTS_COLUMNS}) SELECT * FROM unnest({_POINTS_ARRAYS}) RETURNING id
"""
_MOVE_AND_INSERT_POINTS = f"""
WITH moved AS (UPDATE {Order._meta.db_table} SET status = %(to)s WHERE id = %(order)s RETURNING id),
logged AS (
    INSERT INTO {OrderStatusChange._meta.db_table} (order_id, from_status, to_status, actor, changed_at)
    SELECT id, %(from)s, %(to)s, %(actor)s, %(at)s FROM moved
)
{_INSERT_POINTS}
"""


def insert_points(records: list[OrderPoints]) -> list[OrderPoints]:
    """Insert the order's new points rows by one statement, in the given order; each gets its id."""
    if not records:
        return records
    if connection.vendor == "postgresql":  # one statement text whatever the number of rows
        return _stored(records, sql.driver_rows(_INSERT_POINTS, _points_arrays(records), binary=True))
    rows = [_points_row(record) for record in records]
    one = "(" + ", ".join(["%s"] * 9) + ")"
    return _stored(records, sql.rows(f"INSERT INTO {OrderPoints._meta.db_table} ({_POINTS_COLUMNS}) "
                                     f"VALUES {', '.join([one] * len(rows))} RETURNING id",
                                     [v for row in rows for v in row]))


def _points_row(r: OrderPoints) -> tuple:
    return (r.order_id, r.entry_id, r.kind, r.scenario, r.campaign, r.points, json.dumps(r.by_line), r.undoes_id,
            sql.at(r.created_at))


def _points_arrays(records: list[OrderPoints]) -> dict:
    columns = zip(*(_points_row(record) for record in records), strict=True)
    names = ("order", "entry", "kind", "scenario", "campaign", "points", "by_line", "undoes", "created_at")
    return {f"p_{name}": sql.array(column) for name, column in zip(names, columns, strict=True)}


def _stored(records: list[OrderPoints], ids: list[tuple]) -> list[OrderPoints]:
    for record, (pk,) in zip(records, ids, strict=True):
        record.pk = pk
        record._state.adding = False
        record._state.db = connection.alias
    return records


def keep_points(order: Order, points: list[OrderPoints]) -> None:
    """Attach the order's points rows (every one, in id order)."""
    _keep(order, "points", points)


def move(order: Order, target: str, actor: str, points: list[OrderPoints] | None = None) -> list[OrderPoints]:
    """Change the order's status to `target`, log who did it and insert the order's new `points` rows (as
    `insert_points`); one statement on PostgreSQL. Returns the points rows, each with its id."""
    points = points or []
    if statements.available():
        change = {"order": order.pk, "from": order.status, "to": target, "actor": actor, "at": clock.now()}
        if points:
            _stored(points, sql.driver_rows(_MOVE_AND_INSERT_POINTS, change | _points_arrays(points), binary=True))
        else:
            sql.driver_rows(_MOVE, change)
    else:
        OrderStatusChange.objects.create(order=order, from_status=order.status, to_status=target, actor=actor,
                                         changed_at=clock.now())
        Order.objects.filter(pk=order.pk).update(status=target)
        insert_points(points)
    order.status = target
    return points
