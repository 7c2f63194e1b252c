"""An administrator opens the channel settings from the navigation, changes the quiet hours of a saved set of rules,
saves and sees every other saved value kept; then finds a skipped message in the delivery log and opens its tries."""

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import expect

from kopilka.backoffice.roles import ADMINISTRATOR, sync_roles
from kopilka.communications import reports, services
from kopilka.communications.models import SmsProvider
from kopilka.core import programme
from kopilka.core.models import ProgrammeSettings
from kopilka.customers import services as members

PASSWORD = "a-long-browser-password-9"
WORDS = {
    "ru-RU": {"nav": "Каналы", "save": "Сохранить", "log": "Журнал доставки", "skipped": "пропущено: нет согласия"},
    "en-US": {"nav": "Channels", "save": "Save", "log": "Delivery log", "skipped": "skipped: no consent"},
}


@pytest.mark.parametrize("locale", ["ru-RU", "en-US"])
def test_an_administrator_changes_the_quiet_hours_and_reads_the_delivery_log(page_in, shot, locale):
    words = WORDS[locale]
    page = page_in(locale)
    sync_roles()
    admin = User.objects.create_user("admin-vera", password=PASSWORD, is_staff=True)
    admin.groups.set([Group.objects.get(name=ADMINISTRATOR)])
    ProgrammeSettings.objects.create(pk=ProgrammeSettings.SINGLETON, public_url="https://bonus.example.ru",
                                     marketing_cap_messages=4, marketing_cap_days=14, updated_by="earlier")
    SmsProvider.objects.create(pk=SmsProvider.SINGLETON, name="SMS Aero", url="https://sms.example/send",
                               auth="header", auth_secret="Bearer secret-token",
                               report_secret_digest=reports.digest("report-secret-0123"))
    nina = members.create_member(actor="t", last_name="Зайцева", email="nina@example.ru")
    services.notify(nina.pk, kind="accrual", source="a:1", subject="Бонусы", body="100 бонусов")

    page.goto("/admin/login/?next=/office/")
    page.fill("#id_username", "admin-vera")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/office/**")
    page.get_by_role("link", name=words["nav"], exact=True).click()
    page.wait_for_url("**/office/channels/")

    expect(page.locator("#id_rules-public_url")).to_have_value("https://bonus.example.ru")
    expect(page.locator("#id_rules-marketing_cap_messages")).to_have_value("4")
    expect(page.locator("#id_sms-name")).to_have_value("SMS Aero")
    expect(page.locator("#id_sms-auth_secret")).to_have_value("")
    expect(page.locator("[data-report-address]")).to_have_text("https://bonus.example.ru/channels/sms/reports")
    shot(page, "saved-before")
    page.fill("#id_rules-quiet_hours", "22:30-08:00")
    page.get_by_role("button", name=words["save"]).click()
    page.wait_for_load_state()

    expect(page.locator("#id_rules-quiet_hours")).to_have_value("22:30-08:00")
    expect(page.locator("[data-setting=quiet_hours]")).to_have_text("22:30-08:00")
    expect(page.locator("#id_rules-marketing_cap_days")).to_have_value("14")
    expect(page.locator("#id_sms-url")).to_have_value("https://sms.example/send")
    assert "secret-token" not in page.content()
    shot(page, "quiet-hours-saved")
    programme.forget()
    assert programme.value("QUIET_HOURS") == "22:30-08:00" and programme.value("MARKETING_CAP_MESSAGES") == 4
    assert SmsProvider.objects.get().auth_secret == "Bearer secret-token"

    page.get_by_role("link", name=words["log"], exact=True).click()
    page.wait_for_url("**/office/messages/")
    row = page.locator("tr", has_text="Зайцева")
    expect(row).to_contain_text(words["skipped"])
    row.locator("a").first.click()
    page.wait_for_url("**/office/messages/*/")
    expect(page.locator("dd[data-status=skipped]")).to_contain_text(words["skipped"])
    shot(page, "message")
