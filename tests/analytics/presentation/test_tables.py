"""Tables leave the platform with their exact amounts: XLSX cells hold money as numbers that keep every kopeck
(and as its decimal text where a spreadsheet's number could not); CSV and JSON write the decimal as it is."""

import io
from decimal import Decimal

from openpyxl import load_workbook

from kopilka.analytics.presentation.tables import Column, Table, from_dict, to_dict, xlsx_bytes

AMOUNTS = [Decimal("46178716.50"), Decimal("9999999999999.99"), Decimal("12345678901234.56"), Decimal("0.1234")]


def test_xlsx_keeps_each_amount_exact():
    table = Table("money", "Money", [Column("amount", "Amount")], [[amount] for amount in AMOUNTS])
    sheet = load_workbook(io.BytesIO(xlsx_bytes([table]))).active
    cells = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert cells[:2] == [46178716.5, 9999999999999.99] and all(isinstance(c, float) for c in cells[:2])
    assert [Decimal(repr(c)) for c in cells[:2]] == AMOUNTS[:2]
    assert cells[2:] == ["12345678901234.56", "0.1234"]


def test_json_keeps_the_decimal_text():
    table = Table("money", "Money", [Column("amount", "Amount")], [[amount] for amount in AMOUNTS])
    assert [row[0] for row in to_dict(table)["rows"]] == [str(a) for a in AMOUNTS]
    assert from_dict(to_dict(table)).name == "money"
