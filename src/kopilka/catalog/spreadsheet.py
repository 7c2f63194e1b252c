"""The catalogue as an xlsx workbook: a template to fill in, an export, and an import that is all or nothing.

One sheet, one product per row after the header row. Columns are recognised by their header in Russian or English
or by the field's code, in any order; "Артикул" and "Цена" are required. A row that is wrong refuses the whole file
and the report names the row and the column (rows counted as the spreadsheet shows them, the header being row 1).
"""

from io import BytesIO
from zipfile import BadZipFile

from defusedxml import DefusedXmlException
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.utils.exceptions import InvalidFileException

from kopilka.catalog.models import Product
from kopilka.catalog.services import UpsertResult, upsert_products
from kopilka.core import cells, safe_xml
from kopilka.core.errors import ValidationFailed

COLUMNS = [
    ("sku", pgettext_lazy("column", "SKU")), ("name", pgettext_lazy("column", "Name")),
    ("price", pgettext_lazy("column", "Price, ₽")), ("group", pgettext_lazy("column", "Group code")),
    ("is_partner", pgettext_lazy("column", "Partner product")), ("is_active", pgettext_lazy("column", "On sale")),
]
REQUIRED = ("sku", "price")
MAX_ROWS = 100_000
_YES = {"1", "да", "yes", "true", "истина", "y", "д", "+"}
_NO = {"0", "нет", "no", "false", "ложь", "n", "н", "-", ""}


def _workbook(rows: list[list]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = str(_("Products"))
    sheet.append([str(label) for _field, label in COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        cells.append_row(sheet, row)
    for letter, width in zip("ABCDEF", (18, 48, 14, 18, 16, 12), strict=True):
        sheet.column_dimensions[letter].width = width
        sheet.column_dimensions[letter].number_format = "@" if letter in "AD" else "General"
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def template() -> bytes:
    """The header and one example row."""
    return _workbook([["SKU-0001", str(_("Hyaluronic filler 1 ml")), 14900, "fillers", str(_("no")), str(_("yes"))]])


def export(*, shop_only: bool = False) -> bytes:
    """Every product by SKU, or only the redemption shop's (partner products members buy with points)."""
    yes, no = str(_("yes")), str(_("no"))
    products = Product.objects.select_related("group").order_by("sku")
    if shop_only:
        products = products.filter(is_partner=True)
    return _workbook([
        [p.sku, p.name, p.price, p.group.code if p.group else "", yes if p.is_partner else no,
         yes if p.is_active else no]
        for p in products
    ])


def _header_names() -> dict[str, str]:
    """Every header a column is known by (lower case) → its field."""
    names = {}
    for language in ("ru", "en"):
        with translation.override(language):
            names.update({str(label).strip().lower(): field for field, label in COLUMNS})
    names.update({field: field for field, _label in COLUMNS})
    return names


def _flag(value) -> bool:
    text = str(value).strip().lower() if value is not None else ""
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise ValueError(text)


def read(content: bytes) -> list[tuple[int, dict]]:
    """(row number, item) for each filled row; ValidationFailed with a report when the file cannot be read.

    openpyxl parses through defusedxml (a dependency): a part that declares an entity or refers to an external
    resource or DTD is refused, never expanded or fetched.
    """
    try:
        return _read(content)
    except (DefusedXmlException, ValidationFailed, ValueError) as error:
        if not _unsafe_xml(error):
            raise
        raise ValidationFailed(safe_xml.UNSAFE_MESSAGE, code="unsafe_xml") from error


def _unsafe_xml(error: BaseException | None) -> bool:
    """Whether defusedxml refused a part (openpyxl wraps its error in a ValueError of its own)."""
    while error is not None:
        if isinstance(error, DefusedXmlException):
            return True
        error = error.__cause__ or error.__context__
    return False


def _read(content: bytes) -> list[tuple[int, dict]]:
    try:
        book = load_workbook(BytesIO(content), read_only=True, data_only=True)
    except (InvalidFileException, BadZipFile, OSError, KeyError, ValueError) as error:
        raise ValidationFailed(_("This is not an xlsx workbook."), code="not_a_workbook") from error
    rows = book.worksheets[0].iter_rows(values_only=True)
    header = next(rows, None) or ()
    known = _header_names()
    fields = [known.get(str(name).strip().lower()) if name is not None else None for name in header]
    missing = [str(label) for field, label in COLUMNS if field in REQUIRED and field not in fields]
    if missing:
        raise ValidationFailed(_("The first row must name the columns; missing: %(columns)s.") % {
            "columns": ", ".join(missing)}, code="columns_missing", details={"errors": []})
    items, errors = [], []
    for number, values in enumerate(rows, start=2):
        if number > MAX_ROWS + 1:
            raise ValidationFailed(_("At most %(count)d rows at once.") % {"count": MAX_ROWS}, code="too_many_rows")
        if all(value in (None, "") for value in values):
            continue
        item = {}
        for field, value in zip(fields, values, strict=False):
            if field is None:
                continue
            if field in ("is_partner", "is_active"):
                try:
                    item[field] = _flag(value)
                except ValueError:
                    errors.append({"row": number, "column": field, "problem": str(_("Must be yes or no."))})
            elif field == "group":
                item[field] = str(value).strip() if value is not None else ""
            else:
                item[field] = value
        items.append((number, item))
    if errors:
        raise _refusal(errors)
    return items


def _refusal(errors: list[dict]) -> ValidationFailed:
    return ValidationFailed(_("Nothing was imported: %(count)d problems in the file.") % {"count": len(errors)},
                            code="catalog_file_rejected", details={"errors": errors})


def import_products(content: bytes) -> UpsertResult:
    """Create or update every product of the workbook, or none (see the module's docstring)."""
    rows = read(content)
    try:
        return upsert_products(item for _number, item in rows)
    except ValidationFailed as refused:
        errors = refused.details.get("errors", [])
        raise _refusal([
            {"row": rows[e["index"]][0], "column": e["field"], "problem": e["problem"]} for e in errors
        ]) from refused
