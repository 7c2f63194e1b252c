"""Text in a spreadsheet export is never run as a formula (CSV/formula injection).

Invariant: a text cell that starts with `=`, `+`, `-` or `@` (or a tab or carriage return, which spreadsheets skip
before such a sign) is written as text — in CSV behind a leading apostrophe, in xlsx as a string cell with the
quote prefix (shown without the apostrophe); numbers, dates and booleans are written as they are.
"""

from typing import Any

FORMULA_SIGNS = ("=", "+", "-", "@", "\t", "\r")


def risky(value) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_SIGNS)


def csv_text(value):
    """The value for a CSV cell: risky text behind an apostrophe, anything else unchanged."""
    return "'" + value if risky(value) else value


def neutralise_row(sheet: Any, row: int) -> None:
    """Makes the risky text cells of a written xlsx row plain strings with the quote prefix."""
    for cell in sheet[row]:
        if risky(cell.value):
            cell.data_type = "s"
            cell.quotePrefix = True


def append_row(sheet: Any, values: list) -> None:
    """`sheet.append`, with risky text written as text."""
    sheet.append(values)
    if any(risky(value) for value in values):
        neutralise_row(sheet, sheet.max_row)
