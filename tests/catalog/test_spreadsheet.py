"""The catalogue workbook: the template imports as it is, an export imports back unchanged, and a wrong row
refuses the whole file with a report that names the row and the column."""

from decimal import Decimal
from io import BytesIO

import pytest
from django.utils import translation
from openpyxl import Workbook, load_workbook

from kopilka.catalog import spreadsheet
from kopilka.catalog.models import Product
from kopilka.catalog.services import upsert_group
from kopilka.core.errors import ValidationFailed

pytestmark = pytest.mark.django_db


def workbook(*rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(list(row))
    out = BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture
def groups(db):
    upsert_group(code="fillers", name="Филлеры")
    upsert_group(code="care", name="Уход")


def test_the_template_imports_as_it_is(groups):
    assert spreadsheet.import_products(spreadsheet.template()).created == 1
    assert Product.objects.get().group.code == "fillers"


def test_headers_in_either_language_and_any_order_and_flags_in_words(groups):
    content = workbook(
        ("Цена, ₽", "Артикул", "Наименование", "код группы", "В продаже"),
        ("1490,50", "A-1", "Крем", "care", "нет"),
        (990, "A-2", "Сыворотка", "", "да"),
        (None, None, None, None, None),  # an empty row is skipped
    )
    result = spreadsheet.import_products(content)
    assert (result.created, result.updated) == (2, 0)
    cream = Product.objects.get(sku="A-1")
    assert (cream.price, cream.group.code, cream.is_active) == (Decimal("1490.50"), "care", False)
    english = workbook(("SKU", "Price, ₽", "Name"), ("A-2", "1000", "Serum"))
    assert spreadsheet.import_products(english).updated == 1
    assert Product.objects.get(sku="A-2").price == Decimal("1000.00")


def test_an_export_imports_back_unchanged(groups):
    spreadsheet.import_products(workbook(("SKU", "Name", "Price, ₽", "Group code"), ("B-1", "Маска", 500, "care"),
                                         ("B-2", "Филлер", "15000.00", "fillers")))
    with translation.override("ru"):  # headers are written in the language of the request
        exported = spreadsheet.export()
    sheet = load_workbook(BytesIO(exported)).active
    assert [c.value for c in sheet[1]][:3] == ["Артикул", "Наименование", "Цена, ₽"]
    assert spreadsheet.import_products(exported).updated == 2


def test_a_wrong_row_refuses_the_file_and_the_report_names_rows_and_columns(groups):
    content = workbook(
        ("Артикул", "Наименование", "Цена, ₽", "Код группы", "Партнёрский товар"),
        ("C-1", "Хорошая строка", 100, "care", "нет"),
        ("C-2", "", "дорого", "nosuch", "может быть"),
        ("C-1", "Повтор", 100, "", "да"),
    )
    with pytest.raises(ValidationFailed) as refused:
        spreadsheet.import_products(content)
    assert [(e["row"], e["column"]) for e in refused.value.details["errors"]] == [(3, "is_partner")]
    assert not Product.objects.exists()
    content = workbook(
        ("Артикул", "Наименование", "Цена, ₽", "Код группы"),
        ("C-1", "Хорошая строка", 100, "care"),
        ("C-2", "", "дорого", "nosuch"),
        ("C-1", "Повтор", 100, ""),
    )
    with pytest.raises(ValidationFailed) as refused:
        spreadsheet.import_products(content)
    found = {(e["row"], e["column"]) for e in refused.value.details["errors"]}
    assert {(3, "name"), (3, "price"), (3, "group"), (4, "sku")} <= found
    assert not Product.objects.exists()


@pytest.mark.parametrize("content", [b"not a workbook", workbook(("Наименование",), ("Крем",))])
def test_a_file_that_is_not_a_catalogue_is_refused(content):
    with pytest.raises(ValidationFailed):
        spreadsheet.import_products(content)


def test_the_redemption_shop_exports_only_partner_products(groups):
    spreadsheet.import_products(workbook(("SKU", "Name", "Price, ₽", "Partner product"),
                                         ("S-1", "Сертификат", 500, "да"), ("S-2", "Крем", 900, "нет")))
    shop = load_workbook(BytesIO(spreadsheet.export(shop_only=True))).active
    assert [row[0] for row in shop.iter_rows(min_row=2, values_only=True)] == ["S-1"]
