"""A marketer sets a promo campaign's control group and reads what it changed, in a real browser, in Russian and in
English: edits the live campaign's share on its form and saves it (a new version), sees whom it holds out now, then
opens the results, reads the exposed and held-out groups side by side and whether the sample is big enough; the
page has no serious accessibility violation. The figures are the story of tests/campaigns/test_holdout_results.py."""

from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.contrib.auth.models import Group, User
from playwright.sync_api import expect

from kopilka.backoffice.roles import MARKETER, sync_roles
from kopilka.campaigns.holdout_results import compare
from kopilka.campaigns.models import Campaign
from kopilka.campaigns.results import Period
from kopilka.core import clock
from tests.campaigns.test_holdout_results import holdout_story

PASSWORD = "a-long-browser-password-9"
WORDS = {
    "ru-RU": {"share": "Контрольная группа, процент подходящих участников", "save": "Сохранить",
              "split": "из 9 подходящих участников сейчас: 0 — в контрольной группе программы",
              "section": "Получившие предложение и контрольная группа", "members": "участники",
              "effect": "Ожидаемый эффект, п.п.", "show": "Показать", "small": "выборка слишком мала."},
    "en-US": {"share": "Control group, percent of the eligible members", "save": "Save",
              "split": "of 9 eligible members now: 0 in the programme's control group",
              "section": "Exposed vs held out", "members": "members",
              "effect": "Effect to detect, percentage points", "show": "Show", "small": "the sample is too small."},
}


@pytest.mark.parametrize("locale", ["ru-RU", "en-US"])
def test_a_marketer_sets_a_control_group_and_reads_exposed_against_held_out(page_in, shot, locale):
    words = WORDS[locale]
    campaign, _ = holdout_story()
    sync_roles()
    marketer = User.objects.create_user("maria", password=PASSWORD, is_staff=True)
    marketer.groups.set([Group.objects.get(name=MARKETER)])
    page = page_in(locale)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/admin/login/?next=/office/campaigns/spring/")
    page.fill("#id_username", "maria")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/office/campaigns/spring/")

    share = page.get_by_label(words["share"])
    expect(share).to_have_value("50")
    share.fill("25")
    page.get_by_role("button", name=words["save"], exact=True).click()
    page.wait_for_url("**/office/campaigns/spring/")
    expect(page.get_by_label(words["share"])).to_have_value("25")
    expect(page.get_by_test_id("split")).to_contain_text(words["split"])
    assert [v.rules.get("holdout_percent") for v in Campaign.objects.get(code="spring").versions.order_by(
        "number")] == ["50", "25"]
    shot(page, "control-group")

    today = clock.local_date(clock.now())
    start = today - timedelta(days=10)
    found = compare(campaign, Period(start, today))  # the version of the period's start: half held out
    page.goto(f"/office/campaigns/spring/results/?start={start.isoformat()}&end={today.isoformat()}")
    section = page.get_by_test_id("holdout")
    expect(section.get_by_role("heading")).to_have_text(words["section"])
    members = section.locator("tbody tr").first
    expect(members.locator("th")).to_have_text(words["members"])
    expect(members.locator("td").nth(0)).to_have_text(str(found.exposed.members))
    expect(members.locator("td").nth(1)).to_have_text(str(found.held_out.members))
    page.get_by_label(words["effect"]).fill("5")
    page.get_by_role("button", name=words["show"]).click()
    page.wait_for_url("**effect=5*")
    expect(page.get_by_test_id("sample")).to_contain_text(words["small"])  # eight members cannot show 5 pp
    shot(page, "exposed-vs-held-out")
    violations = [v for v in Axe().run(page).response["violations"] if v["impact"] in ("serious", "critical")]
    assert violations == []
