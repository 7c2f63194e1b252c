"""A marketer opens the personal notices from the navigation, switches the burn notice on with another template
and another number of days, saves, and sees the saved setting when the page is opened again; a wrong number of
days is kept back by the browser and changes nothing. In Russian and English."""

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import expect

from kopilka.backoffice.roles import MARKETER, sync_roles
from kopilka.communications.message_templates import save_template
from kopilka.communications.notice_models import NoticeSetting

PASSWORD = "a-long-browser-password-11"
WORDS = {"ru-RU": {"nav": "Уведомления", "save": "Сохранить", "saved": "Настройки уведомлений сохранены.",
                   "days": "Бонусы скоро сгорят: За сколько дней", "on": "Бонусы скоро сгорят: Включено"},
         "en-US": {"nav": "Notices", "save": "Save", "saved": "Notice settings saved.",
                   "days": "Points about to burn: Days before", "on": "Points about to burn: On"}}


def burn_notice() -> tuple:
    setting = NoticeSetting.objects.select_related("template").get(kind="points_expiring")
    return setting.is_enabled, setting.template.code, setting.days_before


@pytest.mark.parametrize("locale", ["ru-RU", "en-US"])
def test_a_marketer_switches_the_burn_notice_on_and_sees_it_saved(page_in, shot, locale):
    words = WORDS[locale]
    sync_roles()
    marketer = User.objects.create_user("marina", password=PASSWORD, is_staff=True)
    marketer.groups.set([Group.objects.get(name=MARKETER)])
    save_template(code="burn-soft", actor="t", name="Мягко о сгорании", channel="email", purpose="transactional",
                  subject_ru="Скоро сгорят бонусы", body_ru="{{ notice.points|points }} бонусов сгорят.")

    page = page_in(locale)
    page.goto("/admin/login/?next=/office/")
    page.fill("#id_username", "marina")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/office/**")
    page.get_by_role("link", name=words["nav"], exact=True).click()
    page.wait_for_url("**/office/notices/")

    expect(page.get_by_label(words["on"])).not_to_be_checked()
    expect(page.locator("#id_points_expiring-template")).to_have_value("notice-points-expiring")
    expect(page.get_by_label(words["days"])).to_have_value("7")
    shot(page, "shipped")

    page.get_by_label(words["days"]).fill("91")
    page.get_by_role("button", name=words["save"]).click()
    page.wait_for_load_state()
    expect(page.locator("#id_points_expiring-days_before:invalid")).to_have_count(1)  # the browser keeps it back
    assert burn_notice() == (False, "notice-points-expiring", 7)
    shot(page, "refused")

    page.get_by_label(words["on"]).check()
    page.locator("#id_points_expiring-template").select_option("burn-soft")
    page.get_by_label(words["days"]).fill("5")
    page.get_by_role("button", name=words["save"]).click()
    page.wait_for_url("**/office/notices/")
    expect(page.get_by_role("status")).to_have_text(words["saved"])

    page.reload()
    expect(page.get_by_label(words["on"])).to_be_checked()
    expect(page.locator("#id_points_expiring-template")).to_have_value("burn-soft")
    expect(page.get_by_label(words["days"])).to_have_value("5")
    expect(page.locator("tr[data-notice=points_expiring]")).to_contain_text("user:marina")
    shot(page, "saved")
    assert burn_notice() == (True, "burn-soft", 5)
