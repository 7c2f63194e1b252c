"""Tables leave the platform with their exact amounts: XLSX cells hold every decimal — money, quantities, ratios — as
a number whose value is the exact decimal and whose format shows its decimals (and as its decimal text where a
spreadsheet's number of 15 significant digits could not hold it); CSV and JSON write the decimal as it is."""

import io
import json
from decimal import Decimal

from openpyxl import load_workbook

from kopilka.analytics.presentation.tables import Column, Table, from_dict, to_dict, xlsx_bytes

AMOUNTS = [Decimal("46178716.50"), Decimal("9999999999999.99"), Decimal("0.1234"), Decimal("0.001"),
           Decimal("-0.0001"), Decimal("100"), Decimal("12345678901234.56"), Decimal("-12345678901234.56")]


def _cells(amounts):
    table = Table("money", "Money", [Column("amount", "Amount")], [[amount] for amount in amounts])
    return [row[0] for row in load_workbook(io.BytesIO(xlsx_bytes([table]))).active.iter_rows(min_row=2)]


def test_xlsx_writes_each_decimal_as_a_number_of_its_exact_value_showing_its_decimals():
    cells = _cells(AMOUNTS[:6])
    assert all(cell.data_type == "n" for cell in cells)
    assert [Decimal(repr(cell.value)) for cell in cells] == AMOUNTS[:6]
    assert [cell.number_format for cell in cells] == ["#,##0.00", "#,##0.00", "#,##0.0000", "#,##0.000",
                                                      "#,##0.0000", "#,##0"]


def test_xlsx_keeps_a_decimal_of_more_than_15_significant_digits_as_its_text_never_a_formula():
    cells = _cells(AMOUNTS[6:])
    assert [(cell.value, cell.data_type) for cell in cells] == [("12345678901234.56", "s"),
                                                                ("-12345678901234.56", "s")]
    assert cells[1].quotePrefix  # text that starts with a minus is not run as a formula


def test_json_keeps_the_decimal_text():
    table = Table("money", "Money", [Column("amount", "Amount")], [[amount] for amount in AMOUNTS])
    assert [row[0] for row in to_dict(table)["rows"]] == [str(a) for a in AMOUNTS]
    assert from_dict(to_dict(table)).name == "money"


def test_a_stored_table_is_read_with_its_kinds_money_grouped_with_roubles_and_shares_as_percentages():
    """People read money grouped with ₽ and shares as percentages in their language; the download keeps the raw
    numbers, each as a number in its column's format (money with ₽, a share as a percentage)."""
    from django.utils import translation

    from kopilka.analytics.presentation.tables import COUNT, MONEY, SHARE
    from kopilka.backoffice.presenters import readable

    table = Table("buyers", "Buyers", [Column("who", "buyers"), Column("receipts", "receipts", kind=COUNT),
                                       Column("revenue", "revenue", kind=MONEY),
                                       Column("share", "share of sales", kind=SHARE)],
                  [["members", 12345, Decimal("46178716.50"), 0.1438], ["others", 7, Decimal("0.05"), None]])
    stored = from_dict(json.loads(json.dumps(to_dict(table))))
    assert stored.rows == table.rows  # money back as the exact Decimal
    with translation.override("ru"):
        shown = readable(stored).rows
    assert shown == [["members", "12\xa0345", "46\xa0178\xa0716,50\xa0₽", "14,4\xa0%"],
                     ["others", "7", "0,05\xa0₽", None]]
    with translation.override("en"):
        assert readable(stored).rows[0][1:] == ["12,345", "46,178,716.50\xa0₽", "14.4\xa0%"]
    sheet = load_workbook(io.BytesIO(xlsx_bytes([stored]))).active
    assert [cell.value for cell in sheet[2]] == ["members", 12345, 46178716.5, 0.1438]
    assert [cell.number_format for cell in sheet[2]][1:] == ["#,##0", '#,##0.00 "₽"', "0.0%"]
