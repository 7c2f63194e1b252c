"""Every page of the back office, the administration and the API's docs is served whole by the platform: with every
request that does not go to the server under test blocked (an on-premise server has no internet), each page
renders its heading, and nothing on it is refused by the page's Content Security Policy. The back office's pages fit
a 1280 px screen and a 390 px phone without scrolling sideways (a wide table scrolls inside its own box)."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User

from kopilka.backoffice.roles import ADMINISTRATOR, sync_roles
from kopilka.campaigns import services as campaigns
from kopilka.catalog.services import upsert_group, upsert_products
from kopilka.core import clock
from kopilka.customers import services as members
from kopilka.ledger import services as ledger

PASSWORD = "a-long-browser-password-7"


def _scene() -> dict:
    """A member with points, a campaign and a product: what the pages that show one record name."""
    anna = members.create_member(actor="t", last_name="Соколова", first_name="Анна", phone="+79161234567")
    ledger.accrue(member_id=anna.pk, points=300, actor="t", idempotency_key="offline-1")
    campaigns.create_campaign(code="spring", name="Весна", type="promo", starts_at=clock.now(), actor="t",
                              rules={"accrual": {"reward": "percent", "percent": "5"}})
    upsert_group(code="fillers", name="Филлеры")
    upsert_products([{"sku": "F-1", "name": "Филлер", "price": Decimal("14900"), "group": "fillers"}])
    return {"member": anna.pk}


def _addresses(member: int) -> list[str]:
    return [
        "/office/members/", f"/office/members/{member}/", f"/office/members/{member}/compensate/",
        f"/office/members/{member}/spend/", "/office/compensations/", "/office/audit/", "/office/settings/",
        "/office/campaigns/", "/office/campaign-new/", "/office/campaigns/spring/", "/office/catalog/",
        "/office/catalog/products/F-1/", "/office/analytics/", "/office/analytics/rfm/", "/office/analytics/widgets/",
    ]


def _sign_in(page) -> dict:
    sync_roles()
    admin = User.objects.create_user("admin-olga", password=PASSWORD, is_staff=True)
    admin.groups.set([Group.objects.get(name=ADMINISTRATOR)])
    scene = _scene()
    page.goto("/admin/login/?next=/office/")
    page.fill("#id_username", "admin-olga")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/office/**")
    return scene


def test_every_page_renders_with_the_outside_world_blocked(page, offline, shot):
    met = offline(page)
    scene = _sign_in(page)
    administration = ["/admin/", "/admin/customers/member/", f"/admin/customers/member/{scene['member']}/change/"]
    for address in [*_addresses(scene["member"]), *administration, "/api/v1/docs"]:
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
        scene = _sign_in(page)
        wide = {}
        for address in _addresses(scene["member"]):
            page.goto(address)
            if (scrolled := page.evaluate("document.documentElement.scrollWidth")) > width:
                wide[address] = scrolled
        page.goto(f"/office/members/{scene['member']}/")
        shot(page, f"member-card-{width}")
        assert wide == {}
    finally:
        context.close()
