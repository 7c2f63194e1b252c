"""A marketer builds a regional promo campaign in a real browser: the live count of eligible members follows the
conditions, the preview shows what a sample cart earns and why, then the campaign is saved and activated."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import expect

from kopilka.backoffice.roles import MARKETER, sync_roles
from kopilka.campaigns.models import Campaign
from kopilka.catalog.services import upsert_group, upsert_products
from kopilka.core import clock
from kopilka.customers import services as members

PASSWORD = "a-long-browser-password-4"


def test_a_marketer_builds_previews_and_activates_a_regional_promo(page, shot):
    sync_roles()
    marketer = User.objects.create_user("maria", password=PASSWORD, is_staff=True)
    marketer.groups.set([Group.objects.get(name=MARKETER)])
    upsert_group(code="fillers", name="Филлеры")
    upsert_products([{"sku": "F-1", "name": "Филлер 1 мл", "price": "14900", "group": "fillers"}])
    doctor = members.create_member(actor="t", last_name="Новосибирская", region_code="54")
    for n in range(3):
        members.create_member(actor="t", last_name=f"Московская {n}", region_code="77")

    page.goto("/admin/login/?next=/office/campaigns/")
    page.fill("#id_username", "maria")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/office/campaigns/")
    page.get_by_role("link", name="Новая кампания").click()
    expect(page.locator("#eligible")).to_have_text("4")  # nobody excluded yet

    page.get_by_label("Код", exact=True).fill("nsk-fillers")
    page.get_by_label("Внутреннее название").fill("Филлеры в Новосибирске")
    page.get_by_label("Тип", exact=True).select_option("promo")
    page.get_by_label("Начало", exact=True).fill((clock.now() - timedelta(hours=1)).astimezone(clock.programme_tz())
                                     .strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="+ условие").click()
    page.get_by_label("Условие", exact=True).locator("select").first.select_option("region")
    page.get_by_role("group", name="Регионы").get_by_role("combobox").fill("54")
    page.get_by_role("group", name="Регионы").get_by_role("combobox").press("Enter")
    expect(page.locator("#eligible")).to_have_text("1")
    page.get_by_label("Процент", exact=True).fill("10")
    page.get_by_label("Только товарные группы (коды через запятую)").fill("fillers")
    shot(page, "builder")

    page.get_by_label("Номер участника").fill(str(doctor.pk))
    page.get_by_label("Корзина: по артикулу в строке, можно × количество").fill("F-1 x 2")
    page.get_by_role("button", name="Предпросмотр").click()
    expect(page.get_by_test_id("preview")).to_contain_text("2980")
    expect(page.get_by_test_id("preview")).to_contain_text("✓")
    expect(page.locator("#eligible")).to_have_text("1")  # the form came back as it was
    shot(page, "preview")

    page.get_by_role("button", name="Сохранить").click()
    expect(page.locator("p.message")).to_contain_text("nsk-fillers")
    page.get_by_role("banner").get_by_role("link", name="Промо-кампании").click()
    row = page.locator("tr", has_text="nsk-fillers")
    expect(row).to_contain_text("черновик")
    row.get_by_role("button", name="Запустить").click()
    expect(page.locator("tr", has_text="nsk-fillers")).to_contain_text("активна")
    shot(page, "activated")
    assert Campaign.objects.get(code="nsk-fillers").status == "active"


EDITING = {"ru-RU": ("Начало", "Окончание", "Приоритет (больший — раньше)", "Сохранить"),
           "en-US": ("Starts", "Ends", "Priority (higher first)", "Save")}


@pytest.mark.parametrize("locale", ["ru-RU", "en-US"])
def test_a_marketer_opens_an_existing_campaign_changes_its_priority_and_nothing_else_moves(page_in, shot, locale):
    """The stored start and end reach the browser's date inputs (in the programme's time zone, to the second) and
    come back unchanged: a save that touched only the priority keeps them to the microsecond. In Russian and
    English."""
    from datetime import datetime

    from kopilka.campaigns import services as campaigns

    sync_roles()
    marketer = User.objects.create_user("marina", password=PASSWORD, is_staff=True)
    marketer.groups.set([Group.objects.get(name=MARKETER)])
    zone = clock.programme_tz()
    start, end = datetime(2025, 6, 4, 10, 15, 37, 123456, tzinfo=zone), datetime(2027, 1, 31, 23, 59, 59, tzinfo=zone)
    campaigns.create_campaign(code="siberia-doctors", name="Врачи Сибири", public_name="Сибирь", type="promo",
                              starts_at=start, ends_at=end, budget_points=50_000, actor="t",
                              rules={"accrual": {"reward": "percent", "percent": "5"}})

    starts, ends, priority, save = EDITING[locale]
    page = page_in(locale)
    page.goto("/admin/login/?next=/office/campaigns/siberia-doctors/")
    page.fill("#id_username", "marina")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/office/campaigns/siberia-doctors/**")
    expect(page.get_by_label(starts, exact=True)).to_have_value("2025-06-04T10:15:37")
    expect(page.get_by_label(ends, exact=True)).to_have_value("2027-01-31T23:59:59")
    page.get_by_label(priority).fill("7")
    shot(page, "priority-changed")
    page.get_by_role("button", name=save).click()
    page.wait_for_url("**/office/campaigns/siberia-doctors/")
    expect(page.get_by_label(priority)).to_have_value("7")
    expect(page.get_by_label(starts, exact=True)).to_have_value("2025-06-04T10:15:37")
    saved = Campaign.objects.get(code="siberia-doctors")
    assert (saved.priority, saved.starts_at, saved.ends_at, saved.name, saved.public_name, saved.budget_points) == (
        7, start, end, "Врачи Сибири", "Сибирь", 50_000)
