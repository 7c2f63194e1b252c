"""An analyst in a real browser: opens the KPI dashboard for March, watches it being computed by the worker,
reads the KPIs with their definitions and the charts, downloads a table, looks at the RFM grid and shares its heat
map as a widget that opens without signing in. Screenshots of each step are kept."""


from django.contrib.auth.models import Group, User
from playwright.sync_api import expect

from kopilka.analytics.models import Snapshot
from kopilka.backoffice.roles import ANALYST, sync_roles
from tests.browser.office import work_off_the_queue

PASSWORD = "a-long-browser-password-5"


def test_an_analyst_reads_the_dashboard_and_shares_the_rfm_grid(page, page_in, shot, march):
    sync_roles()
    analyst = User.objects.create_user("alla", password=PASSWORD, is_staff=True)
    analyst.groups.set([Group.objects.get(name=ANALYST)])

    page.goto("/admin/login/?next=/office/")
    page.fill("#id_username", "alla")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/office/analytics/")  # the front door leads an analyst to the dashboard
    expect(page.get_by_role("heading", name="Дашборд KPI")).to_be_visible()
    page.get_by_label("С", exact=True).fill("2026-03-01")
    page.get_by_label("По", exact=True).fill("2026-03-31")
    page.get_by_role("button", name="Показать").click()
    expect(page.locator(".computing")).to_contain_text("Идёт расчёт")
    shot(page, "computing")
    work_off_the_queue()
    ltv = page.locator('[data-kpi="ltv"]')
    expect(ltv).to_contain_text("2 900,00 ₽", timeout=15_000)
    expect(ltv).to_contain_text("в среднем")  # the definition is on the page
    expect(page.locator('[data-kpi="utilization_rate"] .value')).to_have_text("30,0 %")
    expect(page.locator('figure[data-chart="points"] svg')).to_be_visible()
    recompute = page.get_by_role("button", name="Пересчитать сейчас")
    assert _contrast(recompute.evaluate("e => getComputedStyle(e).color"),
                     page.evaluate("getComputedStyle(document.body).backgroundColor")) >= 4.5  # it was white on white
    shot(page, "dashboard")
    with page.expect_download() as download:
        page.locator('[data-table="members-vs-non-members"]').get_by_role("link", name="CSV").click()
    assert open(download.value.path(), encoding="utf-8-sig").readline().startswith("who,name,receipts")

    page.get_by_role("link", name="RFM-сегменты").click()
    page.get_by_label("На дату").fill("2026-03-31")
    page.get_by_role("button", name="Показать").click()
    expect(page.locator(".computing")).to_be_visible()
    work_off_the_queue()
    expect(page.locator("table.heatmap")).to_be_visible(timeout=15_000)
    expect(page.locator('[data-table="rfm-segments"]')).to_contain_text("Чемпионы")
    shot(page, "rfm")
    page.get_by_label("Встроить на другой сайт").select_option("heatmap")
    page.get_by_role("button", name="Сделать ссылку на виджет").click()
    url = page.locator("#widget-url").input_value()
    shot(page, "widget-link")

    outsider = page_in()
    outsider.goto(url)
    expect(outsider.locator("table.heatmap")).to_be_visible()
    shot(outsider, "widget")
    # each page opened first on its default parameters, then on the chosen ones: four snapshots, all computed
    assert Snapshot.objects.filter(status="done").count() == 4


def _contrast(ink: str, paper: str) -> float:
    """WCAG's contrast ratio of two CSS `rgb(…)` colours."""
    def luminance(colour: str) -> float:
        channels = [int(part) / 255 for part in colour[colour.index("(") + 1:colour.index(")")].split(",")[:3]]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(ink), luminance(paper)), reverse=True)
    return (light + 0.05) / (dark + 0.05)
