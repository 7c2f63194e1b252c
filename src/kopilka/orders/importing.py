"""Importing purchase history from a CSV file into the purchases store (orders with lines).

What a file means (the columns are described in `transactions_csv`):
- each row is one receipt line and `amount` is that line's amount;
- rows sharing an `order_id` form one order whose total is the sum of their amounts; they must agree on the
  customer, the purchase time and the region;
- a row without `order_id` is an order of its own, keyed by a hash of its content plus the occurrence number
  of that same content within the file: two identical rows are two purchases, and the same file gives the same
  keys again;
- an order is identified by (source, order_id or that key). Orders that already exist are skipped entirely, so
  re-importing a file adds nothing;
- a row without `customer_id` is a non-member's purchase; an unknown `customer_id` becomes a new member (an
  individual registered by "import" at the customer's earliest imported purchase) with that customer id.

How (bounded memory, all or nothing):
1. the first pass streams the file and checks every row, writing nothing; any error rejects the file with a
   report (at most MAX_REPORTED_ERRORS lines);
2. the second pass, in one transaction, streams the rows into the staging table `ImportRow`, checks that the
   rows of each order agree, then builds members, orders and lines with set-based SQL, and deletes the staged
   rows.
   A file that changed between the passes is rejected. A dry run does all of it and rolls back.
"""

import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from django.db import connection, transaction
from django.db.models import Count, Exists, Min, OuterRef, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from kopilka.core import audit, clock
from kopilka.core.errors import ValidationFailed
from kopilka.core.progress import Progress
from kopilka.customers.models import ExternalId, Member, Region
from kopilka.orders.models import ImportBatch, ImportRow, Order, OrderLine
from kopilka.orders.transactions_csv import (
    GENERATED_KEY_PREFIX,
    MONEY_LIMIT,
    PurchaseRow,
    RowError,
    TransactionsFile,
    local_text,
)

DEFAULT_SOURCE = "import"
MEMBER_REGISTRATION_SOURCE = "import"
MAX_REPORTED_ERRORS = 1000
CHUNK_SIZE = 5000
_SOURCE_PATTERN = re.compile(r"[a-z0-9_-]{1,20}")
_TOTAL_LIMIT_KOPECKS = int(MONEY_LIMIT * 100)
_STAGED_COLUMNS = (
    "batch_id, line_no, order_key, content_key, customer_ref, purchased_at, sku, "
    "quantity_thousandths, price_kopecks, amount_kopecks, region_id"
)


class ImportRejected(ValidationFailed):
    """The file was not imported; `errors` says where and why (the first MAX_REPORTED_ERRORS problems)."""

    code = "import_rejected"

    def __init__(self, errors: list[RowError], *, truncated: bool = False):
        self.errors = errors
        self.truncated = truncated
        super().__init__(
            ngettext_lazy(
                "The file was not imported: %(count)s error.",
                "The file was not imported: %(count)s errors.",
                "count",
            )
            % {"count": len(errors)},
            details={"errors": [error.as_dict() for error in errors], "truncated": truncated},
        )

    def report(self) -> str:
        lines = [str(self.message), *(str(error) for error in self.errors)]
        if self.truncated:
            lines.append(str(_("The check stopped after %(limit)s errors.") % {"limit": MAX_REPORTED_ERRORS}))
        return "\n".join(lines)


@dataclass(frozen=True)
class ImportResult:
    batch_id: int | None
    rows: int
    orders_created: int
    lines_created: int
    members_created: int
    non_member_orders: int
    skipped_existing: int
    dry_run: bool


def import_transactions(
    path: Path,
    *,
    source: str = DEFAULT_SOURCE,
    actor: str = "",
    dry_run: bool = False,
    progress_stream: TextIO | None = None,
) -> ImportResult:
    """Imports the file all or nothing; raises ImportRejected with a report when any row is wrong."""
    if not _SOURCE_PATTERN.fullmatch(source):
        raise ValidationFailed(
            _("The source must be 1 to 20 lowercase letters, digits, “-” or “_”."), details={"source": source}
        )
    stream = progress_stream if progress_stream is not None else sys.stderr
    regions = dict(Region.objects.values_list("code", "id"))
    now = clock.now()

    checked = TransactionsFile(path, regions, now)
    rows = _check_rows(checked.parse(), Progress(_("Checking rows"), stream=stream))

    with transaction.atomic():
        _wait_for_other_imports()
        batch = ImportBatch.objects.create(
            file_name=path.name,
            file_sha256=checked.sha256,
            source=source,
            rows=rows,
            started_at=now,
            actor=actor,
        )
        staged = TransactionsFile(path, regions, now)
        _stage_rows(batch, staged.parse(), Progress(_("Staging rows"), total=rows, stream=stream))
        if staged.sha256 != checked.sha256:
            raise ImportRejected([_file_changed()])
        _number_rows_without_order_id(batch)
        _refuse_disagreeing_orders(batch, {region_id: code for code, region_id in regions.items()})
        batch.skipped_existing = _drop_existing_orders(batch, source)
        batch.members_created = _create_missing_members(batch, Progress(_("Creating members"), stream=stream))
        batch.orders_created = _insert_orders(batch, source)
        _refresh_statistics()
        batch.lines_created = _insert_lines(batch, source)
        ImportRow.objects.filter(batch=batch).delete()
        batch.non_member_orders = Order.objects.filter(import_batch=batch, member__isnull=True).count()
        batch.status = ImportBatch.Status.COMPLETED
        batch.finished_at = clock.now()
        batch.save()
        audit.record(None, "orders.imported", _("Imported %(orders)d orders from %(file)s") % {
            "orders": batch.orders_created, "file": path.name}, actor=actor or "unknown",
            target=f"orders.importbatch:{batch.pk}", details={
                "source": source, "rows": rows, "orders": batch.orders_created, "members": batch.members_created,
                "skipped": batch.skipped_existing})
        if dry_run:
            transaction.set_rollback(True)

    return ImportResult(
        batch_id=None if dry_run else batch.pk,
        rows=rows,
        orders_created=batch.orders_created,
        lines_created=batch.lines_created,
        members_created=batch.members_created,
        non_member_orders=batch.non_member_orders,
        skipped_existing=batch.skipped_existing,
        dry_run=dry_run,
    )


def _check_rows(parsed: Iterable[tuple[PurchaseRow | None, list[RowError]]], progress: Progress) -> int:
    """Pass 1: counts the good rows, or raises ImportRejected with the errors found."""
    errors: list[RowError] = []
    rows = 0
    for row, row_errors in parsed:
        progress.advance()
        if row is not None:
            rows += 1
            continue
        errors.extend(row_errors)
        if len(errors) >= MAX_REPORTED_ERRORS:
            progress.finish()
            raise ImportRejected(errors[:MAX_REPORTED_ERRORS], truncated=True)
    progress.finish()
    if errors:
        raise ImportRejected(errors)
    return rows


def _wait_for_other_imports() -> None:
    """Imports run one at a time, so two imports of overlapping files cannot both find an order missing and
    collide inserting it. SQLite's writers queue already (the transaction takes the write lock at BEGIN); on
    PostgreSQL the batch table's SHARE ROW EXCLUSIVE lock conflicts with itself and with nothing that readers
    or the purchase flow take."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {ImportBatch._meta.db_table} IN SHARE ROW EXCLUSIVE MODE")


def _stage_rows(
    batch: ImportBatch, parsed: Iterable[tuple[PurchaseRow | None, list[RowError]]], progress: Progress
) -> None:
    """Pass 2: writes the rows into the staging table in chunks. Rows without an order id get their content
    key; their order key is completed by `_number_rows_without_order_id`."""
    with connection.cursor() as cursor:
        for chunk in _chunks(_staging_values(batch, parsed), CHUNK_SIZE):
            _insert_staged(cursor, chunk)
            progress.advance(len(chunk))
    progress.finish()


def _staging_values(
    batch: ImportBatch, parsed: Iterable[tuple[PurchaseRow | None, list[RowError]]]
) -> Iterator[tuple]:
    """The values of `_STAGED_COLUMNS` for each row; a bad row now means the file changed since pass 1."""
    adapt_moment = connection.ops.adapt_datetimefield_value
    for row, errors in parsed:
        if row is None:
            raise ImportRejected([*errors, _file_changed()])
        yield (
            batch.pk,
            row.line,
            row.order_id,
            "" if row.order_id else row.content_key(),
            row.customer_id,
            adapt_moment(row.purchased_at),
            row.sku,
            row.quantity_thousandths,
            row.price_kopecks,
            row.amount_kopecks,
            row.region_id,
        )


def _insert_staged(cursor, rows: list[tuple]) -> None:
    """COPY on PostgreSQL, a prepared INSERT on SQLite: the ORM's per-object work, or psycopg's client-side
    binding of multi-row INSERTs, would otherwise be most of the import's time."""
    table = ImportRow._meta.db_table
    if connection.vendor == "postgresql":
        with cursor.cursor.copy(f"COPY {table} ({_STAGED_COLUMNS}) FROM STDIN") as copy:
            for values in rows:
                copy.write_row(values)
    else:
        placeholders = ", ".join(["%s"] * len(rows[0]))
        cursor.executemany(f"INSERT INTO {table} ({_STAGED_COLUMNS}) VALUES ({placeholders})", rows)


def _file_changed() -> RowError:
    return RowError(1, "", "", _("The file changed while it was being imported."))


def _chunks(items: Iterable, size: int) -> Iterator[list]:
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _number_rows_without_order_id(batch: ImportBatch) -> None:
    """order_key = "row:<content key>:<n>", n being the occurrence of that content in the file (1, 2, ...)."""
    table = ImportRow._meta.db_table
    sql = f"""
        UPDATE {table}
        SET order_key = %s || content_key || ':' || CAST((
            SELECT COUNT(*) FROM {table} AS earlier
            WHERE earlier.batch_id = {table}.batch_id
              AND earlier.content_key = {table}.content_key
              AND earlier.line_no <= {table}.line_no
        ) AS VARCHAR(20))
        WHERE batch_id = %s AND content_key <> ''
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [GENERATED_KEY_PREFIX, batch.pk])


def _refuse_disagreeing_orders(batch: ImportBatch, region_codes: dict[int, str]) -> None:
    """Rows of one order must agree on customer, time and region, and its total must fit: else ImportRejected,
    each disagreeing row reported with the line of the order's first row."""
    flagged = (
        ImportRow.objects.filter(batch=batch, content_key="")
        .values("order_key")
        .annotate(
            first_line=Min("line_no"),
            customers=Count("customer_ref", distinct=True),
            moments=Count("purchased_at", distinct=True),
            regions=Count(Coalesce("region_id", Value(0)), distinct=True),
            total=Sum("amount_kopecks"),
        )
        .filter(Q(customers__gt=1) | Q(moments__gt=1) | Q(regions__gt=1) | Q(total__gte=_TOTAL_LIMIT_KOPECKS))
        .order_by("first_line")
    )
    errors: list[RowError] = []
    for order in flagged[:MAX_REPORTED_ERRORS]:
        errors.extend(_order_errors(batch, order, region_codes))
        if len(errors) >= MAX_REPORTED_ERRORS:
            raise ImportRejected(errors[:MAX_REPORTED_ERRORS], truncated=True)
    if errors:
        raise ImportRejected(errors)


def _order_errors(batch: ImportBatch, order: dict, region_codes: dict[int, str]) -> Iterator[RowError]:
    rows = ImportRow.objects.filter(batch=batch, order_key=order["order_key"]).order_by("line_no").iterator()
    first = next(rows)
    if order["total"] >= _TOTAL_LIMIT_KOPECKS:
        yield RowError(
            first.line_no,
            "order_id",
            first.order_key,
            _("The order's total must be less than %(limit)s."),
            {"limit": f"{MONEY_LIMIT:,.0f}".replace(",", " ")},
        )

    def shown(row: ImportRow) -> dict[str, str]:
        return {
            "customer_id": row.customer_ref,
            "purchased_at": local_text(row.purchased_at),
            "region": region_codes.get(row.region_id, ""),
        }

    expected = shown(first)
    for row in rows:
        for column, value in shown(row).items():
            if value != expected[column]:
                yield RowError(
                    row.line_no,
                    column,
                    value,
                    _("Line %(line)s of the same order has “%(other)s”."),
                    {"line": first.line_no, "other": expected[column]},
                )


def _drop_existing_orders(batch: ImportBatch, source: str) -> int:
    """Removes the staged rows of orders that already exist; returns how many orders that was."""
    existing = ImportRow.objects.filter(batch=batch).filter(
        Exists(Order.objects.filter(source=source, external_id=OuterRef("order_key")))
    )
    skipped = existing.values("order_key").distinct().count()
    if skipped:
        existing.delete()
    return skipped


def _create_missing_members(batch: ImportBatch, progress: Progress) -> int:
    """A member with a "customer" external id for each customer id not known yet, registered at the customer's
    earliest staged purchase. Chunked by customer id (keyset), so memory stays bounded."""
    known = ExternalId.objects.filter(system=ExternalId.System.CUSTOMER, value=OuterRef("customer_ref"))
    created = 0
    last_ref = ""
    while True:
        chunk = list(
            ImportRow.objects.filter(batch=batch, customer_ref__gt=last_ref)
            .filter(~Exists(known))
            .values("customer_ref")
            .annotate(first_purchase=Min("purchased_at"))
            .order_by("customer_ref")[:CHUNK_SIZE]
        )
        if not chunk:
            break
        members = Member.objects.bulk_create(
            Member(
                kind=Member.Kind.INDIVIDUAL,
                registration_source=MEMBER_REGISTRATION_SOURCE,
                registered_at=customer["first_purchase"],
            )
            for customer in chunk
        )
        ExternalId.objects.bulk_create(
            ExternalId(member=member, system=ExternalId.System.CUSTOMER, value=customer["customer_ref"])
            for member, customer in zip(members, chunk, strict=True)
        )
        created += len(members)
        last_ref = chunk[-1]["customer_ref"]
        progress.advance(len(members))
    progress.finish()
    return created


def _insert_orders(batch: ImportBatch, source: str) -> int:
    """One completed order per staged order key, of the member holding its customer id (none for a row without
    one); the total is the sum of its rows, the items the sum of their quantities."""
    sql = f"""
        INSERT INTO {Order._meta.db_table}
            (source, external_id, member_id, purchased_at, total, region_id, status, import_batch_id,
             created_at, items)
        SELECT %s, r.order_key, MIN(e.member_id), MIN(r.purchased_at), SUM(r.amount_kopecks) / 100.0,
               MIN(r.region_id), %s, %s, %s, SUM(r.quantity_thousandths) / 1000.0
        FROM {ImportRow._meta.db_table} r
        LEFT JOIN {ExternalId._meta.db_table} e
          ON r.customer_ref <> '' AND e.system = %s AND e.value = r.customer_ref
        WHERE r.batch_id = %s
        GROUP BY r.order_key
    """
    created_at = connection.ops.adapt_datetimefield_value(clock.now())
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [
                source,
                Order.Status.COMPLETED.value,
                batch.pk,
                created_at,
                ExternalId.System.CUSTOMER.value,
                batch.pk,
            ],
        )
        return cursor.rowcount


def _refresh_statistics() -> None:
    """On PostgreSQL, fresh statistics of the staged rows and the orders before the lines join them: without them
    the planner may take tens of thousands of rows just written for a handful and join them by a nested loop of
    scans (minutes for 70,000 rows), depending on whether autovacuum happened to analyse the tables."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {ImportRow._meta.db_table}, {Order._meta.db_table}")


def _insert_lines(batch: ImportBatch, source: str) -> int:
    """The staged rows become lines of their orders, numbered 1, 2, ... in file order."""
    sql = f"""
        INSERT INTO {OrderLine._meta.db_table} (order_id, line_no, sku, quantity, price, amount)
        SELECT o.id, ROW_NUMBER() OVER (PARTITION BY o.id ORDER BY r.line_no), r.sku,
               r.quantity_thousandths / 1000.0, r.price_kopecks / 100.0, r.amount_kopecks / 100.0
        FROM {ImportRow._meta.db_table} r
        JOIN {Order._meta.db_table} o
          ON o.source = %s AND o.external_id = r.order_key AND o.import_batch_id = %s
        WHERE r.batch_id = %s
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [source, batch.pk, batch.pk])
        return cursor.rowcount
