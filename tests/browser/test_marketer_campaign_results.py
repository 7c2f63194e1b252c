"""A marketer reads a campaign's results in a real browser, in Russian and in English: from the list of campaigns
(its columns of results) to the campaign's page and on to its results, picks two days, reads the cards and the
charts, downloads the table by version; the page has no serious accessibility violation at 1280 px nor at 390 px,
where it fits the phone's width. Screenshots of each step are kept. The figures are the spring story's
(tests/campaigns/test_results.py), worked by hand there."""

import csv
from datetime import timedelta

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.contrib.auth.models import Group, User
from playwright.sync_api import expect

from kopilka.backoffice.roles import MARKETER, sync_roles
from kopilka.core import clock
from tests.campaigns.test_results import spring_story

PASSWORD = "a-long-browser-password-9"
WORDS = {
    "ru-RU": {"campaigns": "Промо-кампании", "results": "Результаты: участники, баллы, бюджет, выручка",
              "from": "С", "to": "По", "show": "Показать", "heading": "Результаты: spring",
              "granted": "400", "desired": "по правилам: 450; срезано бюджетом и лимитами участника: 50",
              "budget": "30,0\xa0% из 1\xa0000; осталось: 700", "revenue": "2\xa0500,00\xa0₽",
              "share": "88,9\xa0%", "version_table": "Результаты по версиям правил", "all": "3"},
    "en-US": {"campaigns": "Campaigns", "results": "Results: members who earned, points, budget, revenue",
              "from": "From", "to": "To", "show": "Show", "heading": "Results: spring",
              "granted": "400", "desired": "desired by the rules: 450; cut by the budget and the member limits: 50",
              "budget": "30.0\xa0% of 1,000; left: 700", "revenue": "2,500.00\xa0₽",
              "share": "88.9\xa0%", "version_table": "Results by version of the rules", "all": "3"},
}


@pytest.mark.parametrize("locale", ["ru-RU", "en-US"])
def test_a_marketer_reads_a_campaigns_results_for_two_days_and_downloads_the_table(page_in, shot, locale):
    words = WORDS[locale]
    story = spring_story()
    day = story["day"]
    sync_roles()
    marketer = User.objects.create_user("maria", password=PASSWORD, is_staff=True)
    marketer.groups.set([Group.objects.get(name=MARKETER)])
    page = page_in(locale)
    page.set_viewport_size({"width": 1280, "height": 900})

    page.goto("/admin/login/?next=/office/campaigns/")
    page.fill("#id_username", "maria")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/office/campaigns/")
    expect(page.get_by_role("heading", name=words["campaigns"])).to_be_visible()
    row = page.locator('tr[data-campaign="spring"]')
    expect(row.locator('[data-result="members"]')).to_have_text(words["all"])  # all time: Anna, Boris, Vera
    expect(row.locator('[data-result="budget-left"]')).to_have_text("700")
    shot(page, "campaigns")

    row.get_by_role("link", name="spring").click()
    page.get_by_role("link", name=words["results"]).click()
    page.wait_for_url("**/office/campaigns/spring/results/")
    expect(page.get_by_role("heading", level=1)).to_contain_text(words["heading"])
    # it opens on the campaign's life so far
    expect(page.get_by_label(words["from"], exact=True)).to_have_value(
        clock.local_date(story["spring"].starts_at).isoformat())
    expect(page.get_by_label(words["to"], exact=True)).to_have_value(clock.local_date(clock.now()).isoformat())
    expect(page.locator('[data-card="granted"] .value')).to_have_text("500")
    page.get_by_label(words["from"], exact=True).fill(day.isoformat())
    page.get_by_label(words["to"], exact=True).fill((day + timedelta(days=1)).isoformat())
    page.get_by_role("button", name=words["show"]).click()
    page.wait_for_url(f"**/results/?start={day.isoformat()}*")

    granted = page.locator('[data-card="granted"]')
    expect(granted.locator(".value")).to_have_text(words["granted"])
    expect(granted).to_contain_text(words["desired"])
    expect(page.locator('[data-card="budget"]')).to_contain_text(words["budget"])
    expect(page.locator('[data-card="revenue"] .value')).to_have_text(words["revenue"])
    expect(page.locator('figure[data-chart="points"] svg')).to_be_visible()
    expect(page.locator('figure[data-chart="revenue"] svg polyline')).to_have_count(1)
    versions = page.locator('[data-table="results-by-version"]')
    expect(versions.get_by_role("heading")).to_have_text(words["version_table"])
    expect(versions.locator("tbody tr").first).to_contain_text(words["share"])
    shot(page, "results-1280")
    assert _severe(page) == []

    with page.expect_download() as download:
        versions.get_by_role("link", name="CSV").click()
    with open(download.value.path(), encoding="utf-8-sig") as saved:
        rows = list(csv.DictReader(saved))
    assert [(r["version"], r["points_desired"], r["points_granted"], r["granted_share"], r["revenue"])
            for r in rows] == [("spring:v1", "450", "400", "0.8889", "2500.00"), ("spring:v2", "0", "0", "", "0.00")]
    assert download.value.suggested_filename == (
        f"spring-results-by-version-{day:%Y%m%d}-{day + timedelta(days=1):%Y%m%d}.csv")

    page.set_viewport_size({"width": 390, "height": 800})
    page.reload()
    expect(page.locator('[data-card="granted"] .value')).to_have_text(words["granted"])
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert _severe(page) == []  # the wide tables and charts scroll in their boxes, which take the keyboard's focus
    shot(page, "results-390")


def _severe(page) -> list[str]:
    """The serious and critical violations axe-core finds on the page, each with the elements it names."""
    violations = Axe().run(page, options={"resultTypes": ["violations"]}).response["violations"]
    return [(violation["id"], [node["target"] for node in violation["nodes"]])
            for violation in violations if violation["impact"] in ("serious", "critical")]
