"""Importing purchase history: what a file becomes, that a second import adds nothing, and that a bad file
changes nothing."""

import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from kopilka.customers.models import ExternalId, Member
from kopilka.orders import importing
from kopilka.orders.importing import ImportRejected, import_transactions
from kopilka.orders.models import ImportBatch, Order, OrderLine

from .conftest import HEADER, table_counts

pytestmark = pytest.mark.django_db

SHOP_DAY = (
    HEADER,
    "C-001,2024-03-01 10:15,1500.00,R-1,SKU-A,2,750.00,77",
    "C-001,2024-03-01 10:15,0,R-1,GIFT,1,0,77",
    "C-001,2024-03-01 10:15,249.90,R-1,SKU-B,3,83.30,77",
    "C-002,05.03.2024,99.99,R-2,SKU-A,,,78",
    ",2024-03-02T12:00:00+03:00,350.00,R-3,SKU-C,1,350.00,",
    ",2024-03-02 13:00,0,,,,,",
    "C-003,2024-02-28,10.50,,SKU-D,1,10.50,77",
    "C-001,20.02.2024 09:00,42.00,,,,,",
)

_NOT_A_DATE = "Not a date; use YYYY-MM-DD or DD.MM.YYYY, optionally with a time HH:MM[:SS]."
_UNKNOWN_COLUMN = (
    "Unknown column; the columns are: "
    "customer_id, purchased_at, amount, order_id, sku, quantity, price, region."
)


def _import(path, **options):
    return import_transactions(path, progress_stream=io.StringIO(), **options)


def _money_sum(queryset, field: str) -> Decimal:
    """Summed in Python: SQLite keeps decimals as floating point, so its SUM is not exact to the kopeck."""
    return sum(queryset.values_list(field, flat=True), Decimal(0))


def _order(external_id: str) -> Order:
    return Order.objects.get(source="import", external_id=external_id)


def _lines(order: Order) -> list[tuple]:
    return list(order.lines.values_list("line_no", "sku", "quantity", "price", "amount"))


def _orders_by_line_without_id() -> list[tuple]:
    """(customer id or "", total) of the orders keyed by content, sorted."""
    return sorted(
        (
            order.member.external_ids.get().value if order.member else "",
            order.total,
        )
        for order in Order.objects.filter(external_id__startswith="row:").select_related("member")
    )


def test_a_shop_day_becomes_orders_lines_and_members(write_csv, regions):
    # given a three-line order, defaults, a non-member's order, zero amounts and rows without order id
    path = write_csv("day.csv", *SHOP_DAY)

    # when it is imported
    result = _import(path, actor="anna")

    # then each order id is one order, each row without one is an order of its own
    assert (result.rows, result.orders_created, result.lines_created) == (8, 6, 8)
    assert (result.members_created, result.non_member_orders, result.skipped_existing) == (3, 2, 0)
    assert Order.objects.count() == 6
    assert OrderLine.objects.count() == 8
    assert _money_sum(Order.objects.all(), "total") == Decimal("2252.39")

    first = _order("R-1")
    assert first.total == Decimal("1749.90")
    assert first.purchased_at == datetime(2024, 3, 1, 7, 15, tzinfo=UTC)
    assert first.region == regions["77"]
    assert first.status == Order.Status.COMPLETED
    assert first.member.external_ids.get().value == "C-001"
    assert _lines(first) == [
        (1, "SKU-A", Decimal("2.000"), Decimal("750.00"), Decimal("1500.00")),
        (2, "GIFT", Decimal("1.000"), Decimal("0.00"), Decimal("0.00")),
        (3, "SKU-B", Decimal("3.000"), Decimal("83.30"), Decimal("249.90")),
    ]
    assert first.items == Decimal("6.000")  # the order keeps the sum of its lines' quantities

    defaults = _order("R-2")
    assert (defaults.total, defaults.purchased_at) == (
        Decimal("99.99"),
        datetime(2024, 3, 4, 21, 0, tzinfo=UTC),
    )
    assert defaults.region == regions["78"]
    assert _lines(defaults) == [(1, "SKU-A", Decimal("1.000"), Decimal("99.99"), Decimal("99.99"))]

    non_member = _order("R-3")
    assert (non_member.member, non_member.region, non_member.total) == (None, None, Decimal("350.00"))
    assert non_member.purchased_at == datetime(2024, 3, 2, 9, 0, tzinfo=UTC)

    assert _orders_by_line_without_id() == [
        ("", Decimal("0.00")),
        ("C-001", Decimal("42.00")),
        ("C-003", Decimal("10.50")),
    ]

    batch = ImportBatch.objects.get()
    assert set(Order.objects.values_list("import_batch", flat=True)) == {batch.pk}
    assert (batch.file_name, batch.source, batch.actor, batch.status) == (
        "day.csv",
        "import",
        "anna",
        "completed",
    )
    assert (batch.rows, batch.orders_created, batch.lines_created, batch.members_created) == (8, 6, 8, 3)
    assert (batch.non_member_orders, batch.skipped_existing) == (2, 0)
    assert len(batch.file_sha256) == 64
    assert batch.finished_at is not None
    assert table_counts()["ImportRow"] == 0


def test_new_members_are_registered_by_import_at_their_earliest_purchase(write_csv, regions):
    # given a file where C-001's earliest purchase is the last row
    path = write_csv("day.csv", *SHOP_DAY)

    # when it is imported
    _import(path)

    # then each unknown customer id became an individual member with that id
    members = {
        external.value: external.member
        for external in ExternalId.objects.filter(system="customer").select_related("member")
    }
    assert sorted(members) == ["C-001", "C-002", "C-003"]
    assert {(m.kind, m.status, m.registration_source) for m in members.values()} == {
        ("individual", "active", "import")
    }
    assert members["C-001"].registered_at == datetime(2024, 2, 20, 6, 0, tzinfo=UTC)
    assert members["C-002"].registered_at == datetime(2024, 3, 4, 21, 0, tzinfo=UTC)
    assert members["C-003"].registered_at == datetime(2024, 2, 27, 21, 0, tzinfo=UTC)


def test_a_known_customer_id_takes_the_existing_member(write_csv, regions):
    # given a member who already carries customer id C-002
    known = Member.objects.create(last_name="Петрова", registered_at=datetime(2020, 1, 1, tzinfo=UTC))
    ExternalId.objects.create(member=known, system="customer", value="C-002")

    # when the file is imported
    result = _import(write_csv("day.csv", *SHOP_DAY))

    # then the purchase is hers and no member is created for her
    assert result.members_created == 2
    assert _order("R-2").member == known
    assert Member.objects.count() == 3


def test_importing_the_same_file_again_adds_nothing(write_csv, regions):
    # given a file already imported
    path = write_csv("day.csv", *SHOP_DAY)
    _import(path)
    before = table_counts()

    # when it is imported again
    again = _import(path)

    # then every order is skipped and only the record of the run is new
    assert (again.orders_created, again.lines_created, again.members_created, again.skipped_existing) == (
        0,
        0,
        0,
        6,
    )
    assert table_counts() == before | {"ImportBatch": 2}
    assert ImportBatch.objects.order_by("started_at", "pk").last().skipped_existing == 6


def test_a_longer_export_adds_only_the_new_orders(write_csv, regions):
    # given the shop day imported
    _import(write_csv("day.csv", *SHOP_DAY))

    # when the next export repeats it and adds one order and one row without order id
    result = _import(
        write_csv(
            "days.csv",
            *SHOP_DAY,
            "C-004,2024-03-06 18:00,75.00,R-4,SKU-E,1,75.00,77",
            "C-002,2024-03-06 19:00,5.00,,,,,",
        )
    )

    # then only those two orders and their member are added
    assert (result.orders_created, result.lines_created, result.members_created, result.skipped_existing) == (
        2,
        2,
        1,
        6,
    )
    assert _order("R-4").total == Decimal("75.00")
    assert Order.objects.count() == 8


def test_identical_rows_without_order_id_are_separate_purchases(write_csv, regions):
    # given two identical rows without order id
    row = "C-001,2024-03-01 10:00,120.00,,SKU-A,1,120.00,77"
    path = write_csv("twice.csv", HEADER, row, row)

    # when the file is imported twice
    first = _import(path)
    second = _import(path)

    # then they are two purchases, and the second import adds nothing
    assert (first.orders_created, first.lines_created) == (2, 2)
    assert (second.orders_created, second.skipped_existing) == (0, 2)
    assert list(Order.objects.order_by("external_id").values_list("total", flat=True)) == [
        Decimal("120.00"),
        Decimal("120.00"),
    ]
    keys = sorted(Order.objects.values_list("external_id", flat=True))
    assert [key.rsplit(":", 1)[1] for key in keys] == ["1", "2"]
    assert keys[0].rsplit(":", 1)[0] == keys[1].rsplit(":", 1)[0]

    # and a file with the same row three times adds exactly the third
    third = _import(write_csv("thrice.csv", HEADER, row, row, row))
    assert (third.orders_created, third.skipped_existing) == (1, 2)


def test_semicolons_bom_and_decimal_commas(write_csv, regions):
    # given a file as a Russian spreadsheet saves it: BOM, ";" and decimal commas, spaces between digit groups
    path = write_csv(
        "excel.csv",
        "customer_id;purchased_at;amount;order_id;quantity;price;region",
        "C-1;01.03.2024 10:30;1 234,50;R-1;1,5;823;7",
        ";02.03.2024 11:00:05;0,99;;;;",
        encoding="utf-8-sig",
    )

    # when it is imported
    result = _import(path)

    # then the numbers are read as decimals and the region code "7" as 07
    assert (result.orders_created, result.lines_created, result.non_member_orders) == (2, 2, 1)
    order = _order("R-1")
    assert (order.total, order.region) == (Decimal("1234.50"), regions["07"])
    assert order.purchased_at == datetime(2024, 3, 1, 7, 30, tzinfo=UTC)
    assert _lines(order) == [(1, "", Decimal("1.500"), Decimal("823.00"), Decimal("1234.50"))]

    # and the same content spelled with "," and "." is recognised as already imported
    again = _import(
        write_csv(
            "plain.csv",
            "customer_id,purchased_at,amount,order_id,quantity,price,region",
            "C-1,2024-03-01 10:30,1234.5,R-1,1.5,823.00,07",
            ",2024-03-02 11:00:05,.99,,1,0.99,",
        )
    )
    assert (again.orders_created, again.skipped_existing) == (0, 2)


def test_a_dry_run_counts_everything_and_saves_nothing(write_csv, regions):
    # given an empty store
    before = table_counts()

    # when a file is imported as a dry run
    result = _import(write_csv("day.csv", *SHOP_DAY), dry_run=True)

    # then the figures are those of a real import and nothing is stored
    assert (result.orders_created, result.lines_created, result.members_created) == (6, 8, 3)
    assert (result.dry_run, result.batch_id) == (True, None)
    assert table_counts() == before


def test_bad_rows_are_reported_with_line_numbers_and_nothing_is_imported(write_csv, regions):
    # given a store with one earlier import, and a file with bad rows among good ones
    _import(write_csv("day.csv", *SHOP_DAY))
    before = table_counts()
    path = write_csv(
        "bad.csv",
        HEADER,
        "C-1,2024-13-01,10,,,,,",
        "C-1,2024-03-01,-5,,,,,",
        "C-1,2024-03-01,10,,,,,00",
        "C-1,2024-03-01,10.555,,,,,",
        "C-1,2024-03-01,10,,,0,,",
        "C-1,2024-03-01,10,,,,,77",
        "",
        "C-1,2024-03-01,abc,,,,,",
        "C-1,2024-03-01",
        "C-1,2999-01-01,10,row:1,,,-1,",
    )

    # when it is imported
    with pytest.raises(ImportRejected) as rejected:
        _import(path)

    # then every problem is listed where it is, and the store is as it was
    assert [(e.line, e.column, e.value, e.problem_text) for e in rejected.value.errors] == [
        (2, "purchased_at", "2024-13-01", _NOT_A_DATE),
        (3, "amount", "-5", "The value must not be negative."),
        (4, "region", "00", "Unknown region code."),
        (5, "amount", "10.555", "At most 2 decimal places."),
        (6, "quantity", "0", "The value must be greater than zero."),
        (9, "amount", "abc", "Not a number."),
        (10, "", "", "Expected 8 values, found 2."),
        (11, "order_id", "row:1", "Order ids starting with “row:” are reserved."),
        (11, "purchased_at", "2999-01-01", "The purchase date is in the future."),
        (11, "price", "-1", "The value must not be negative."),
    ]
    assert rejected.value.truncated is False
    assert table_counts() == before


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("customer_id,amount,order_id", [(1, "purchased_at", "The required column is missing.")]),
        (
            "customer_id,purchased_at,amount,quantiy",
            [(1, "quantiy", _UNKNOWN_COLUMN)],
        ),
        ("customer_id,purchased_at,amount,amount", [(1, "amount", "The column appears more than once.")]),
    ],
)
def test_a_bad_header_is_reported_and_nothing_is_imported(write_csv, regions, header, expected):
    # given a file whose header is wrong
    before = table_counts()
    path = write_csv("header.csv", header, "C-1,2024-03-01,10,x")

    # when it is imported
    with pytest.raises(ImportRejected) as rejected:
        _import(path)

    # then the header line is reported and nothing is stored
    assert [(e.line, e.column, e.problem_text) for e in rejected.value.errors] == expected
    assert table_counts() == before


def test_rows_of_one_order_that_disagree_are_reported_and_nothing_is_imported(write_csv, regions):
    # given rows of order R-1 with another customer, another time and another region than its first row
    _import(write_csv("day.csv", *SHOP_DAY))
    before = table_counts()
    path = write_csv(
        "split.csv",
        HEADER,
        "C-10,2024-04-01 10:00,10,R-10,,,,77",
        "C-10,2024-04-01 10:00,20,R-20,,,,77",
        "C-20,2024-04-01 10:00,30,R-10,,,,77",
        "C-10,2024-04-01 11:00,40,R-10,,,,78",
    )

    # when it is imported
    with pytest.raises(ImportRejected) as rejected:
        _import(path)

    # then each disagreeing row is reported with the line it disagrees with, and nothing is stored
    assert [(e.line, e.column, e.value, e.problem_text) for e in rejected.value.errors] == [
        (4, "customer_id", "C-20", "Line 2 of the same order has “C-10”."),
        (5, "purchased_at", "2024-04-01 11:00:00", "Line 2 of the same order has “2024-04-01 10:00:00”."),
        (5, "region", "78", "Line 2 of the same order has “77”."),
    ]
    assert table_counts() == before


def test_an_order_total_beyond_the_money_limit_is_refused(write_csv, regions):
    # given two rows of one order, each within the limit, together beyond it
    before = table_counts()
    path = write_csv(
        "huge.csv",
        HEADER,
        "C-1,2024-03-01,600000000000.00,R-1,,,,",
        "C-1,2024-03-01,400000000000.00,R-1,,,,",
    )

    # when it is imported
    with pytest.raises(ImportRejected) as rejected:
        _import(path)

    # then the order is reported at its first line and nothing is stored
    assert [(e.line, e.column, e.problem_text) for e in rejected.value.errors] == [
        (2, "order_id", "The order's total must be less than 1 000 000 000 000.")
    ]
    assert table_counts() == before


def test_the_report_stops_at_a_thousand_errors(write_csv, regions):
    # given a file with 1,500 rows without a valid amount
    path = write_csv("many.csv", HEADER, *(f"C-{n},2024-03-01,x,,,,," for n in range(1500)))

    # when it is imported
    with pytest.raises(ImportRejected) as rejected:
        _import(path)

    # then the first thousand are reported and the report says it stopped
    errors = rejected.value.errors
    assert (len(errors), errors[0].line, errors[-1].line, rejected.value.truncated) == (1000, 2, 1001, True)
    assert rejected.value.report().splitlines()[-1] == "The check stopped after 1000 errors."


def test_a_line_that_is_not_utf8_is_reported_where_it_is(tmp_path, regions):
    # given a file whose third line was saved in windows-1251
    path = tmp_path / "cp1251.csv"
    path.write_bytes(
        b"customer_id,purchased_at,amount\nC-1,2024-03-01,1\n" + "Иван,2024-03-01,1\n".encode("cp1251")
    )

    # when it is imported
    with pytest.raises(ImportRejected) as rejected:
        _import(path)

    # then that line is reported
    assert [(e.line, e.problem_text) for e in rejected.value.errors] == [
        (3, "The line is not valid UTF-8; save the file as UTF-8.")
    ]
    assert Order.objects.count() == 0


def test_a_file_changed_between_the_passes_is_refused(write_csv, regions, monkeypatch):
    # given a file that gains a row right after it was checked
    path = write_csv("growing.csv", *SHOP_DAY)
    check_rows = importing._check_rows

    def check_then_append(*args, **kwargs):
        rows = check_rows(*args, **kwargs)
        with path.open("a", encoding="utf-8") as file:
            file.write("C-9,2024-03-09,9.00,,,,,\n")
        return rows

    monkeypatch.setattr(importing, "_check_rows", check_then_append)
    before = table_counts()

    # when it is imported
    with pytest.raises(ImportRejected) as rejected:
        _import(path)

    # then the import is refused and nothing is stored
    assert [e.problem_text for e in rejected.value.errors] == [
        "The file changed while it was being imported."
    ]
    assert table_counts() == before


def test_orders_of_another_source_are_separate(write_csv, regions):
    # given the shop day imported as "import"
    path = write_csv("day.csv", *SHOP_DAY)
    _import(path)

    # when the same file is imported as coming from 1C
    result = _import(path, source="onec")

    # then its orders are new orders of that source, for the same members
    assert (result.orders_created, result.members_created, result.skipped_existing) == (6, 0, 0)
    assert Order.objects.get(source="onec", external_id="R-1").member == _order("R-1").member


def test_a_malformed_source_is_refused(write_csv, regions):
    with pytest.raises(importing.ValidationFailed):
        _import(write_csv("day.csv", *SHOP_DAY), source="Point of Sale")
    assert table_counts()["ImportBatch"] == 0


def test_seventy_thousand_rows(write_csv, regions):
    # given 20,000 two-line orders and 30,000 rows without order id; every fourth order is a non-member's
    rows = []
    expected_total = Decimal(0)
    for n in range(70_000):
        key = n // 2 if n < 40_000 else n
        customer = "" if key % 4 == 0 else f"C{key % 5000:04d}"
        order_id = f"O{key}" if n < 40_000 else ""
        amount = Decimal(n % 100_000) / 100
        expected_total += amount
        rows.append(
            f"{customer},2024-01-01 {key % 24:02d}:{key % 60:02d},{amount},{order_id},SKU{n % 300},,,77"
        )
    path = write_csv("big.csv", HEADER, *rows)

    # when it is imported
    result = _import(path)

    # then every row is a line, the orders are as grouped, and customers with key % 4 != 0 became members
    assert (result.rows, result.orders_created, result.lines_created) == (70_000, 50_000, 70_000)
    assert (result.members_created, result.non_member_orders) == (3750, 12_500)
    assert _money_sum(Order.objects.all(), "total") == expected_total
    assert _money_sum(OrderLine.objects.all(), "amount") == expected_total
    assert table_counts()["ImportRow"] == 0
