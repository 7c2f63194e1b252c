"""Spreadsheet exports write text that looks like a formula as text; numbers stay numbers."""

import csv
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from kopilka.analytics.presentation.tables import Column, Table, write_csv, xlsx_bytes
from kopilka.catalog import spreadsheet
from kopilka.catalog.models import Product
from kopilka.core import cells

RISKY = ["=HYPERLINK(\"http://x\",\"y\")", "+1+2", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]


@pytest.mark.parametrize("text", RISKY)
def test_risky_text_goes_to_csv_behind_an_apostrophe(text):
    assert cells.csv_text(text) == "'" + text


@pytest.mark.parametrize("value", ["Иванова", "a=b", "", 5, -5, Decimal("-1.50"), 1.5, None])
def test_anything_else_is_unchanged(value):
    assert cells.csv_text(value) == value


def _table(rows):
    return Table(name="t", title="t", columns=[Column("name", "Name"), Column("value", "Value")], rows=rows)


def test_an_analytics_csv_keeps_numbers_and_defuses_text():
    out = io.StringIO()
    write_csv(_table([["=1+1", -5], ["-x", 3]]), out)

    assert list(csv.reader(io.StringIO(out.getvalue()))) == [["name", "value"], ["'=1+1", "-5"], ["'-x", "3"]]


def test_an_analytics_xlsx_writes_risky_text_as_text_and_numbers_as_numbers():
    texts = RISKY[:-1]  # XML keeps no bare carriage return
    book = load_workbook(io.BytesIO(xlsx_bytes([_table([[text, -5] for text in texts])])))
    rows = list(book.worksheets[0].iter_rows(min_row=2))

    assert [(row[0].value, row[0].data_type, row[0].quotePrefix) for row in rows] == [
        (text, "s", True) for text in texts]
    assert {(row[1].value, row[1].data_type) for row in rows} == {(-5, "n")}


@pytest.mark.django_db
def test_the_catalogue_export_writes_a_formula_like_name_as_text_and_imports_it_back():
    Product.objects.create(sku="F-1", name="=cmd|'/c calc'!A0", price=Decimal("10.00"))
    book = load_workbook(io.BytesIO(spreadsheet.export()))
    name, price = book.worksheets[0]["B2"], book.worksheets[0]["C2"]

    assert (name.value, name.data_type, name.quotePrefix) == ("=cmd|'/c calc'!A0", "s", True)
    assert price.data_type == "n"
    assert spreadsheet.read(spreadsheet.export())[0][1]["name"] == "=cmd|'/c calc'!A0"
