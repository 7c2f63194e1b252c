"""Every page of the back office, the administration and the API's docs is served whole by the platform: with every
request that does not go to the server under test blocked (an on-premise server has no internet), each page
renders its heading, and nothing on it is refused by the page's Content Security Policy."""

from decimal import Decimal

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


def test_every_page_renders_with_the_outside_world_blocked(page, live_server, shot):
    sync_roles()
    admin = User.objects.create_user("admin-olga", password=PASSWORD, is_staff=True)
    admin.groups.set([Group.objects.get(name=ADMINISTRATOR)])
    scene = _scene()
    outside, refused = [], []

    def only_the_platform(route):
        if route.request.url.startswith(live_server.url):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_platform)
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.goto("/admin/login/?next=/office/")
    page.fill("#id_username", "admin-olga")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/office/**")
    addresses = [
        "/office/members/", f"/office/members/{scene['member']}/", f"/office/members/{scene['member']}/compensate/",
        f"/office/members/{scene['member']}/spend/", "/office/compensations/", "/office/audit/", "/office/settings/",
        "/office/campaigns/", "/office/campaign-new/", "/office/campaigns/spring/", "/office/catalog/",
        "/office/catalog/products/F-1/", "/office/analytics/", "/office/analytics/rfm/", "/office/analytics/widgets/",
        "/admin/", "/admin/customers/member/", f"/admin/customers/member/{scene['member']}/change/", "/api/v1/docs",
    ]
    for address in addresses:
        answer = page.goto(address)
        assert answer.status == 200, address
        heading = page.locator("h1, h2.title, .swagger-ui .info .title").first
        heading.wait_for()
        assert heading.inner_text().strip(), address
    shot(page, "docs")
    assert outside == [] and refused == []
