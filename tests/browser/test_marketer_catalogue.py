"""A marketer keeps the catalogue in a real browser: downloads the xlsx template, uploads a workbook with a wrong
row (nothing imported, the report names the row), then the corrected one. Screenshots of each step are kept."""

from io import BytesIO

import pytest
from django.contrib.auth.models import Group, User
from openpyxl import Workbook, load_workbook
from playwright.sync_api import expect

from kopilka.backoffice.roles import MARKETER, sync_roles
from kopilka.catalog.models import Product
from kopilka.catalog.services import upsert_group

PASSWORD = "a-long-browser-password-3"


def _workbook(path, *rows) -> str:
    book = Workbook()
    for row in rows:
        book.active.append(list(row))
    book.save(path)
    return str(path)


def test_a_marketer_imports_the_catalogue_from_xlsx(page, shot, tmp_path):
    sync_roles()
    marketer = User.objects.create_user("maria", password=PASSWORD, is_staff=True)
    marketer.groups.set([Group.objects.get(name=MARKETER)])
    upsert_group(code="fillers", name="Филлеры")

    page.goto("/admin/login/?next=/office/catalog/")
    page.fill("#id_username", "maria")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/office/catalog/")
    expect(page.get_by_role("heading", name="Каталог")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Скачать шаблон").click()
    header = [c.value for c in load_workbook(BytesIO(open(download.value.path(), "rb").read())).active[1]]
    assert header[:3] == ["Артикул", "Наименование", "Цена, ₽"]
    shot(page, "catalogue-empty")

    wrong = _workbook(tmp_path / "wrong.xlsx", header,
                      ("F-1", "Филлер 1 мл", 14900, "fillers", "нет", "да"),
                      ("F-2", "Филлер 2 мл", "дорого", "nosuch", "нет", "да"))
    page.get_by_label("Файл (xlsx)").set_input_files(wrong)
    page.get_by_role("button", name="Загрузить").click()
    expect(page.get_by_role("alert")).to_contain_text("Ничего не загружено")
    report = page.locator("table.report")
    expect(report).to_contain_text("Цена, ₽")
    expect(report.locator("tbody tr").first).to_contain_text("3")
    assert not Product.objects.exists()
    shot(page, "report")

    right = _workbook(tmp_path / "right.xlsx", header,
                      ("F-1", "Филлер 1 мл", 14900, "fillers", "нет", "да"),
                      ("F-2", "Филлер 2 мл", "27900,50", "fillers", "нет", "да"))
    page.get_by_label("Файл (xlsx)").set_input_files(right)
    page.get_by_role("button", name="Загрузить").click()
    expect(page.get_by_role("status")).to_contain_text("новых — 2")
    expect(page.locator("tbody")).to_contain_text("27 900,50")
    shot(page, "imported")
    assert Product.objects.count() == 2


PRODUCT = {"ru-RU": ("Наименование", "Цена, ₽", "Группа", "Партнёрский товар (магазин баллов)", "В продаже",
                     "Сохранить"),
           "en-US": ("Name", "Price, ₽", "Group", "Partner product (the redemption shop)", "On sale", "Save")}


@pytest.mark.parametrize("locale", ["ru-RU", "en-US"])
def test_a_marketer_changes_one_product_on_its_page_and_nothing_else_moves(page_in, shot, locale):
    """From the catalogue's list to a product's page: its stored values are in the form; a new price alone is saved,
    and the name, group and flags stay as they were. In Russian and English."""
    from decimal import Decimal

    from kopilka.catalog.services import upsert_products
    from kopilka.core.models import AuditEvent

    sync_roles()
    marketer = User.objects.create_user("maria", password=PASSWORD, is_staff=True)
    marketer.groups.set([Group.objects.get(name=MARKETER)])
    upsert_group(code="fillers", name="Филлеры")
    upsert_group(code="care", name="Уход")
    upsert_products([{"sku": "F-1", "name": "Филлер 1 мл", "price": "14900.50", "group": "fillers",
                      "is_partner": True}])
    name, price, group, partner, on_sale, save = PRODUCT[locale]
    page = page_in(locale)
    page.goto("/admin/login/?next=/office/catalog/")
    page.fill("#id_username", "maria")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/office/catalog/")
    page.get_by_role("link", name="F-1").click()
    page.wait_for_url("**/office/catalog/products/F-1/")
    expect(page.get_by_label(name, exact=True)).to_have_value("Филлер 1 мл")
    expect(page.get_by_label(price)).to_have_value("14900.50")
    expect(page.get_by_label(group)).to_have_value("fillers")
    expect(page.get_by_label(partner)).to_be_checked()
    expect(page.get_by_label(on_sale)).to_be_checked()
    page.get_by_label(price).fill("15200")
    shot(page, "price-changed")
    page.get_by_role("button", name=save).click()
    page.wait_for_url("**/office/catalog/products/F-1/")
    expect(page.get_by_role("status")).to_contain_text("F-1")
    expect(page.get_by_label(price)).to_have_value("15200.00")
    expect(page.get_by_label(group)).to_have_value("fillers")
    shot(page, "saved")
    saved = Product.objects.select_related("group").get(sku="F-1")
    assert (saved.name, saved.price, saved.group.code, saved.is_partner, saved.is_active) == (
        "Филлер 1 мл", Decimal("15200.00"), "fillers", True, True)
    assert AuditEvent.objects.get(action="catalog.product_changed").details == {"fields": ["price"]}
