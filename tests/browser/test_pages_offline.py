"""Every page of the back office, the administration and the API's docs is served whole by the platform: with every
request that does not go to the server under test blocked (an on-premise server has no internet), each page
renders its heading, and nothing on it is refused by the page's Content Security Policy. The back office's pages fit
a 1280 px screen and a 390 px phone without scrolling sideways (a wide table scrolls inside its own box)."""

import pytest

from tests.browser.office import addresses, administration, sign_in


def test_every_page_renders_with_the_outside_world_blocked(page, offline, shot):
    met = offline(page)
    scene = sign_in(page)
    for address in [*addresses(scene), *administration(scene["member"]), "/api/v1/docs"]:
        answer = page.goto(address)
        assert answer.status == 200, address
        heading = page.locator("h1, .swagger-ui .info .title").first
        heading.wait_for()
        assert heading.inner_text().strip(), address
        if address.startswith("/office/") and address.count("/") > 3 and "/analytics/" not in address:
            # a page below a section leads back up: the section is the first link of its breadcrumbs
            section = "/office/" + address.split("/")[2] + "/"
            assert page.locator("nav.crumbs a").first.get_attribute("href") == section, address
    shot(page, "docs")
    assert met.outside == [] and met.refused == []


@pytest.mark.parametrize("width", [1280, 390])
def test_no_page_scrolls_sideways_on_a_desktop_or_a_phone(browser, live_server, django_db_serialized_rollback, shot,
                                                          width):
    context = browser.new_context(viewport={"width": width, "height": 800}, base_url=live_server.url,
                                  locale="ru-RU")
    try:
        page = context.new_page()
        scene = sign_in(page)
        wide = {}
        for address in addresses(scene):
            page.goto(address)
            if (scrolled := page.evaluate("document.documentElement.scrollWidth")) > width:
                wide[address] = scrolled
        page.goto(f"/office/members/{scene['member']}/")
        shot(page, f"member-card-{width}")
        assert wide == {}
    finally:
        context.close()
