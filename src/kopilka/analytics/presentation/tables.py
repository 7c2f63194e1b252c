"""A result table of the analytics — what the CLI prints, the back office shows and downloads, and the API returns.

A table is columns (a key for machines, a label for people, what kind of figure it holds) and rows of plain
values: int, float, str, Decimal, date or None. A column's kind says how people read it: money in roubles, a share
(a fraction, shown as a percentage), a count, another number; the values themselves stay raw in every download.
Writers turn one into CSV (keys as the header: stable for scripts), JSON (a list of objects by key) or an XLSX
workbook (labels as the header, in the active language; numbers as numbers in their column's format; several tables
make several sheets).
"""

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from io import BytesIO
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from kopilka.core import cells

MONEY, SHARE, COUNT, NUMBER = "money", "share", "count", "number"  # the kinds of a column's figures ("": other)
XLSX_FORMATS = {MONEY: '#,##0.00 "₽"', SHARE: "0.0%", COUNT: "#,##0"}


@dataclass(frozen=True)
class Column:
    key: str
    label: Any  # a (lazy) translatable string
    translated: bool = False  # the cells are English message ids (segment names...), shown translated
    kind: str = ""  # MONEY (roubles), SHARE (a fraction of 1), COUNT, NUMBER, or "" (text, dates, mixed)


@dataclass
class Table:
    name: str  # a file-name stem: "rfm-grid"
    title: Any  # a (lazy) translatable string: the sheet's and the page's heading
    columns: list[Column]
    rows: list[Sequence] = field(default_factory=list)

    @property
    def keys(self) -> list[str]:
        return [column.key for column in self.columns]

    def records(self) -> list[dict]:
        """The rows as JSON-ready objects by column key (Decimal as text, dates in ISO form)."""
        return [dict(zip(self.keys, (_json_value(value) for value in row), strict=True)) for row in self.rows]


def _json_value(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def write_csv(table: Table, stream: IO[str]) -> None:
    out = csv.writer(stream, lineterminator="\n")
    out.writerow(table.keys)
    out.writerows([_csv_value(value) for value in row] for row in table.rows)


def _csv_value(value):
    if isinstance(value, float):
        return round(value, 6)
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else cells.csv_text(value)


def xlsx_bytes(tables: Iterable[Table]) -> bytes:
    """One sheet per table, labels in bold as the header row, numbers as numbers."""
    book = Workbook()
    book.remove(book.active)
    for table in tables:
        sheet = book.create_sheet(str(table.title)[:31])
        sheet.append([str(column.label) for column in table.columns])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in table.rows:
            cells.append_row(sheet, [_xlsx_value(value) for value in row])
            _format_numbers(sheet[sheet.max_row], row, table.columns)
        for index, column in enumerate(table.columns, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = max(10, min(40, len(str(column.label)) + 2))
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


XLSX_DIGITS = 15  # the significant digits a spreadsheet keeps of a number


def _faithful(value: Decimal) -> bool:
    """Whether a cell's number is `value` exactly: at most 15 significant digits, and the float's shortest text
    is the decimal itself."""
    return (value.is_finite() and len(value.normalize().as_tuple().digits) <= XLSX_DIGITS
            and Decimal(repr(float(value))) == value)


def _xlsx_value(value):
    """A cell's value: a Decimal as a number when the cell keeps its exact value (`_faithful`), else as its decimal
    text (more than 15 significant digits: a spreadsheet would round it)."""
    if isinstance(value, Decimal):
        return float(value) if _faithful(value) else str(value)
    return value


def _number_format(value: Decimal) -> str:
    """Grouped digits and as many decimals as the Decimal is written with (0.50 shows 0.50, 0.001 shows 0.001)."""
    places = max(0, -int(value.as_tuple().exponent))
    return "#,##0" + ("." + "0" * places if places else "")


def _format_numbers(written, row: Sequence, columns: Sequence[Column]) -> None:
    """Gives each number cell its column's format (money with ₽, a share as a percentage, a count grouped), or, for
    a Decimal of another column, the format that shows its decimals."""
    for cell, value, column in zip(written, row, columns, strict=False):
        if cell.data_type != "n" or value is None:
            continue
        if column.kind in XLSX_FORMATS:
            cell.number_format = XLSX_FORMATS[column.kind]
        elif isinstance(value, Decimal):
            cell.number_format = _number_format(value)


def to_dict(table: Table) -> dict:
    """The table as JSON-ready data; labels and title as their message ids (English), translated when shown."""
    return {"name": table.name, "title": str(table.title),
            "columns": [[column.key, str(column.label), column.translated, column.kind] for column in table.columns],
            "rows": [[_json_value(value) for value in row] for row in table.rows]}


def from_dict(data: dict) -> Table:
    """A stored table, its labels and its translated columns' cells in the active language."""
    from django.utils.translation import gettext

    columns = [Column(key, gettext(label), bool(rest and rest[0]), rest[1] if len(rest) > 1 else "")
               for key, label, *rest in data["columns"]]

    def shown(value, column: Column):
        if column.translated and isinstance(value, str) and value:
            return gettext(value)
        if column.kind in (MONEY, NUMBER) and isinstance(value, str) and value:
            return Decimal(value)  # stored as its exact text (JSON has no decimals)
        return value

    return Table(data["name"], gettext(data["title"]), columns,
                 [[shown(value, column) for value, column in zip(row, columns, strict=True)] for row in data["rows"]])
