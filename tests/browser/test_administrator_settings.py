"""An administrator changes one programme setting on the screen: the others, saved before, stay as they were, and
the cart's quote follows the saved per-line cap at once."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import expect

from kopilka.backoffice.roles import ADMINISTRATOR, sync_roles
from kopilka.core import programme
from kopilka.core.models import ProgrammeSettings
from kopilka.purchases.quote import CartItem, quote
from tests.factories import gift, member

PASSWORD = "a-long-browser-password-5"


@pytest.mark.parametrize(("locale", "save", "in_force"), [("ru-RU", "Сохранить", "20,00"), ("en-US", "Save", "20.00")])
def test_an_administrator_changes_the_line_cap_and_the_other_saved_settings_stay(page_in, shot, locale, save, in_force):
    page = page_in(locale)
    sync_roles()
    admin = User.objects.create_user("admin-anna", password=PASSWORD, is_staff=True)
    admin.groups.set([Group.objects.get(name=ADMINISTRATOR)])
    ProgrammeSettings.objects.create(pk=ProgrammeSettings.SINGLETON, receipt_cap_percent=Decimal(40),
                                     backdating_days=10, partner_cap_percent=Decimal(80), updated_by="earlier")
    page.goto("/admin/login/?next=/office/settings/")
    page.fill("#id_username", "admin-anna")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/office/settings/**")

    expect(page.locator("#id_receipt_cap_percent")).to_have_value("40.00")
    expect(page.locator("#id_backdating_days")).to_have_value("10")
    expect(page.locator("#id_partner_cap_percent")).to_have_value("80.00")
    shot(page, "saved-before")
    page.fill("#id_line_cap_percent", "20")
    page.get_by_role("button", name=save).click()
    page.wait_for_load_state()

    expect(page.locator("#id_line_cap_percent")).to_have_value("20.00")
    expect(page.locator("[data-setting=line_cap_percent]")).to_have_text(in_force)  # in force, in the reader's language
    expect(page.locator("#id_receipt_cap_percent")).to_have_value("40.00")
    expect(page.locator("#id_backdating_days")).to_have_value("10")
    expect(page.locator("#id_partner_cap_percent")).to_have_value("80.00")
    shot(page, "line-cap-saved")
    saved = ProgrammeSettings.objects.get()
    assert (saved.line_cap_percent, saved.receipt_cap_percent, saved.backdating_days) == (Decimal(20), Decimal(40), 10)
    programme.forget()
    anna = member()
    gift(anna.pk, 5000)
    assert quote(anna.pk, [CartItem("ANY", Decimal(1), Decimal(1000), Decimal(1000))], requested=None).maximum == 200


@pytest.mark.parametrize("locale", ["ru-RU", "en-US"])
def test_an_administrator_renames_a_tier_in_the_administration_and_finds_it_in_the_audit_log(page_in, shot, locale):
    """An existing tier opened in the administration keeps every stored value; one changed field is saved alone, and
    the change is in the audit log, named with who made it."""
    from kopilka.tiers.models import Tier

    page = page_in(locale)
    sync_roles()
    admin = User.objects.create_user("admin-boris", password=PASSWORD, is_staff=True)
    admin.groups.set([Group.objects.get(name=ADMINISTRATOR)])
    gold = Tier.objects.create(code="gold", name="Золото", rank=2, threshold=Decimal("150000.00"), window_days=180)
    page.goto(f"/admin/login/?next=/admin/tiers/tier/{gold.pk}/change/")
    page.fill("#id_username", "admin-boris")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"**/admin/tiers/tier/{gold.pk}/change/**")
    expect(page.locator("#id_name")).to_have_value("Золото")
    expect(page.locator("#id_threshold")).to_have_value("150000.00")
    expect(page.locator("#id_window_days")).to_have_value("180")
    page.fill("#id_name", "Золотой")
    shot(page, "tier-renamed")
    page.locator("input[name=_continue]").click()
    page.wait_for_load_state()
    expect(page.locator("#id_name")).to_have_value("Золотой")
    expect(page.locator("#id_threshold")).to_have_value("150000.00")
    expect(page.locator("#id_window_days")).to_have_value("180")
    gold.refresh_from_db()
    assert (gold.name, gold.threshold, gold.window_days, gold.rank) == ("Золотой", Decimal("150000.00"), 180, 2)

    page.goto("/office/audit/")
    row = page.locator("tr", has_text="admin.changed")
    expect(row).to_contain_text("user:admin-boris")
    expect(row).to_contain_text("«Золотой»" if locale == "ru-RU" else "“Золотой”")
    expect(row).to_contain_text(f"tiers.tier:{gold.pk}")
    shot(page, "audit-log")
