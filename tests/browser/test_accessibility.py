"""Every page of the back office, the administration's pages it links to and the API's docs pass axe-core's checks
with no violation of serious or critical impact, in Russian and in English: fields, links and buttons have names,
text has the contrast WCAG AA asks for, tables have headers, the page states its language.

axe-core comes inside the axe-playwright-python wheel and is evaluated in the page through the browser's debugging
protocol, which the page's Content Security Policy does not govern (the pages keep their policy: no bypass_csp);
with every request not to the server under test blocked, the check fetches nothing from outside."""

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.browser.office import ADDRESSES, ADMINISTRATION, sign_in, work_off_the_queue

SEVERE = {"serious", "critical"}
SHOWN_TARGETS = 10

# Markup and styles the platform serves as their makers ship them; each rule is off only on the pages named.
NOT_OURS = {
    # Django's administration: its breadcrumbs are white links among light blue text, not underlined
    # (admin/css/base.css).
    "/admin/": ["link-in-text-block"],
    # Swagger UI (django-ninja's bundle): the colours of its method badges, version stamp and buttons, and its
    # operation headers, a button holding the copy and lock buttons (swagger-ui.css, swagger-ui-bundle.js).
    "/api/v1/docs": ["color-contrast", "nested-interactive"],
}


def _disabled(address: str) -> list[str]:
    return [rule for prefix, rules in NOT_OURS.items() if address.startswith(prefix) for rule in rules]


def _report(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        targets = [" ".join(map(str, node["target"])) for node in violation["nodes"]]
        lines.extend(f"    {target}" for target in targets[:SHOWN_TARGETS])
        if len(targets) > SHOWN_TARGETS:
            lines.append(f"    … and {len(targets) - SHOWN_TARGETS} more")
    return "\n".join(lines)


@pytest.mark.parametrize("locale", ["ru-RU", "en-US"])
@pytest.mark.parametrize("address", [*ADDRESSES, *ADMINISTRATION, "/api/v1/docs"])
def test_no_page_has_a_serious_or_critical_accessibility_violation(page_in, offline, shot, address, locale):
    page = page_in(locale)
    met = offline(page)
    scene = sign_in(page)
    answer = page.goto(address.format(**scene))
    assert answer.status == 200
    if page.locator(".computing").count():
        # an analytics page checked as it is read: computed, with its figures, charts and tables
        work_off_the_queue()
        page.locator(".computing").wait_for(state="detached", timeout=15_000)
    page.locator("h1, .swagger-ui .info .title").first.wait_for()
    rules = {rule: {"enabled": False} for rule in _disabled(address)}
    results = Axe().run(page, options={"resultTypes": ["violations"], "rules": rules})
    shot(page, locale)
    severe = [violation for violation in results.response["violations"] if violation["impact"] in SEVERE]
    assert not severe, "\n" + _report(severe)
    assert met.outside == [] and met.refused == []
