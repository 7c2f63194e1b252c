"""The role × page matrix of the back office: every address of /office/, read (GET) and written (POST) by a person
signed out, by staff of every role and by staff without one, answers exactly as docs/roles.md says.

`PAGES` has one row per address and method the address takes: who may (the roles), what they get for a valid
request, and that request. From it, each cell: signed out, 302 to the sign-in page; a role not in the row, 403; a
method the address does not take, 405 to those who may use the address and 403 to the rest. docs/roles.md's table
must name the same rows and roles, and every address of the URL configuration must have a row.
"""

import itertools
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import URLPattern, get_resolver, resolve

from kopilka.backoffice.models import CompensationRequest, WidgetLink
from kopilka.backoffice.roles import ROLES
from kopilka.campaigns.models import Campaign
from kopilka.catalog.models import Product
from kopilka.core import clock
from kopilka.core.models import AuditEvent, ProgrammeSettings
from kopilka.customers.models import Member
from kopilka.ledger import services as ledger
from kopilka.ledger.models import Entry, Lot
from tests.backoffice.test_campaign_builder import form as campaign_form
from tests.ledger.conftest import make_member
from tests.rights import ROLE_NAMES, documented_office_rights

pytestmark = pytest.mark.django_db

ALL = set(ROLE_NAMES)
DESK = {"administrator", "support", "senior_support", "head_of_support", "auditor"}  # the support console
GRANTERS = {"administrator", "support", "senior_support", "head_of_support"}
SENIORS = {"administrator", "senior_support", "head_of_support"}
MAKERS = {"administrator", "marketer"}  # campaigns and the catalogue
CATALOGUE_READERS = {"administrator", "marketer", "analyst", "auditor"}
ANALYTICS = {"administrator", "marketer", "analyst"}
SHARERS = {"administrator", "analyst"}
ADMIN_PAGES = {
    "/admin/": ALL,
    "/admin/core/apikey/": {"administrator", "auditor"},
    "/admin/auth/user/": {"administrator", "auditor"},
    "/admin/catalog/product/": {"administrator", "marketer", "analyst", "auditor"},
    "/admin/core/auditevent/": {"administrator", "auditor"},
    "/admin/backoffice/compensationlimit/": {"administrator", "auditor"},
}

_unique = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_unique)}"


class World:
    """What the addresses name: a member with points, a campaign, a done snapshot, a support agent's request
    waiting for approval; and, for a change that can be made only once, a fresh one for each allowed person."""

    def __init__(self, staff):
        from kopilka.catalog.services import upsert_group

        upsert_group(code="fillers", name="Филлеры")  # the template's product is in this group
        self.member = make_member().pk
        self.accrual()
        self.campaign = self.fresh_campaign()
        self.snapshot = self._snapshot()
        self.agent = staff("support")  # whose requests wait for approval
        self.analyst = staff("analyst")  # who made the widget links

    def accrual(self) -> Entry:
        return ledger.accrue(member_id=self.member, points=1000, actor="test", idempotency_key=unique("a"))

    def fresh_lot(self) -> int:
        self.accrual()
        return Lot.objects.filter(account__member_id=self.member).order_by("-pk").values_list("pk", flat=True)[0]

    def fresh_campaign(self) -> str:
        from kopilka.campaigns import services

        code = unique("promo")
        services.create_campaign(code=code, name="Promo", type="promo", starts_at=clock.now() - timedelta(days=1),
                                 actor="test", rules={"accrual": {"reward": "percent", "percent": "5"}})
        return code

    def waiting_request(self) -> int:
        from kopilka.backoffice import compensation

        made = compensation.request(self.agent, key=unique("c"), member_id=self.member, points=600,
                                    reason_code="goodwill", comment="Late delivery")
        assert made.status == made.Status.PENDING
        return made.pk

    def widget_link(self) -> int:
        from kopilka.backoffice import widgets

        link, _token = widgets.issue(self.analyst, "dashboard", {"start": "2026-03-01", "end": "2026-03-31"}, "kpis",
                                     7, summary="shared")
        return link.pk

    @staticmethod
    def _snapshot() -> int:
        from kopilka.analytics.models import Snapshot
        from kopilka.analytics.presentation.tables import Column, Table, to_dict

        table = to_dict(Table("kpi", "KPIs", [Column("code", "code")], [["members"]]))
        return Snapshot.objects.create(kind="dashboard", params={}, digest="x", status="done", requested_by="t",
                                       result={"tables": {"kpi": table}}, requested_at=clock.now(),
                                       finished_at=clock.now()).pk


@dataclass(frozen=True)
class Page:
    address: str  # as docs/roles.md writes it
    method: str
    roles: set[str]
    status: int  # of a valid request by a person who may
    request: object  # World → (url, form data or None)


def _operation(code: str, target=None):
    def request(w: World):
        data = {"points": 1, "reason_code": "goodwill", "comment": "Asked by the member", "key": unique("k"),
                "step": "confirm"}
        if target is not None:
            data = {**data, "target": target(w)}
            data.pop("points")
        return f"/office/members/{w.member}/{code}/", data
    return request


def _workbook():
    from django.core.files.uploadedfile import SimpleUploadedFile

    from kopilka.catalog import spreadsheet

    return SimpleUploadedFile("catalogue.xlsx", spreadsheet.template())


SETTINGS = {"time_zone": "", "redemption_order": "", "return_policy": "", "receipt_cap_percent": "",
            "default_lot_lifetime_days": "", "point_value": "", "backdating_days": "10"}
MARCH = {"start": "2026-03-01", "end": "2026-03-31"}

PAGES = [
    Page("/office/", "GET", ALL, 302, lambda w: ("/office/", None)),
    Page("/office/members/", "GET", DESK, 200, lambda w: ("/office/members/", None)),
    Page("/office/members/<id>/", "GET", DESK, 200, lambda w: (f"/office/members/{w.member}/", None)),
    Page("/office/members/<id>/compensate/", "GET", GRANTERS, 200,
         lambda w: (f"/office/members/{w.member}/compensate/", None)),
    Page("/office/members/<id>/compensate/", "POST", GRANTERS, 302, _operation("compensate")),
    Page("/office/members/<id>/spend/", "GET", SENIORS, 200, lambda w: (f"/office/members/{w.member}/spend/", None)),
    Page("/office/members/<id>/spend/", "POST", SENIORS, 302, _operation("spend")),
    Page("/office/members/<id>/burn/", "GET", SENIORS, 200, lambda w: (f"/office/members/{w.member}/burn/", None)),
    Page("/office/members/<id>/burn/", "POST", SENIORS, 302, _operation("burn", lambda w: w.fresh_lot())),
    Page("/office/members/<id>/reverse/", "GET", SENIORS, 200,
         lambda w: (f"/office/members/{w.member}/reverse/", None)),
    Page("/office/members/<id>/reverse/", "POST", SENIORS, 302, _operation("reverse", lambda w: w.accrual().pk)),
    Page("/office/compensations/", "GET", DESK, 200, lambda w: ("/office/compensations/", None)),
    Page("/office/compensations/<id>/decide/", "POST", SENIORS, 302,
         lambda w: (f"/office/compensations/{w.waiting_request()}/decide/", {"decision": "approve", "comment": "ok"})),
    Page("/office/audit/", "GET", {"administrator", "auditor"}, 200, lambda w: ("/office/audit/", None)),
    Page("/office/settings/", "GET", {"administrator", "auditor"}, 200, lambda w: ("/office/settings/", None)),
    Page("/office/settings/", "POST", {"administrator"}, 302, lambda w: ("/office/settings/", SETTINGS)),
    Page("/office/campaigns/", "GET", ALL, 200, lambda w: ("/office/campaigns/", None)),
    Page("/office/campaign-new/", "GET", MAKERS, 200, lambda w: ("/office/campaign-new/", None)),
    Page("/office/campaign-new/", "POST", MAKERS, 302,
         lambda w: ("/office/campaign-new/", campaign_form(code=unique("new"), c0_kind="", save="1"))),
    Page("/office/campaign-eligible/", "POST", ALL, 200, lambda w: ("/office/campaign-eligible/", campaign_form())),
    Page("/office/campaigns/<code>/", "GET", ALL, 200, lambda w: (f"/office/campaigns/{w.campaign}/", None)),
    Page("/office/campaigns/<code>/", "POST", MAKERS, 302,
         lambda w: (f"/office/campaigns/{w.campaign}/", campaign_form(c0_kind="", save="1"))),
    Page("/office/campaigns/<code>/<action>/", "POST", MAKERS, 302,
         lambda w: (f"/office/campaigns/{w.fresh_campaign()}/activate/", {})),
    Page("/office/catalog/", "GET", CATALOGUE_READERS, 200, lambda w: ("/office/catalog/", None)),
    Page("/office/catalog/", "POST", MAKERS, 302, lambda w: ("/office/catalog/", {"file": _workbook()})),
    Page("/office/catalog/template.xlsx", "GET", CATALOGUE_READERS, 200,
         lambda w: ("/office/catalog/template.xlsx", None)),
    Page("/office/catalog/export.xlsx", "GET", CATALOGUE_READERS, 200, lambda w: ("/office/catalog/export.xlsx", None)),
    Page("/office/analytics/", "GET", ANALYTICS, 200, lambda w: ("/office/analytics/", None)),
    Page("/office/analytics/", "POST", ANALYTICS, 302, lambda w: ("/office/analytics/?start=2026-03-01&end=2026-03-31",
                                                                  {})),
    Page("/office/analytics/<kind>/", "GET", ANALYTICS, 200, lambda w: ("/office/analytics/abc/", None)),
    Page("/office/analytics/<kind>/", "POST", ANALYTICS, 302, lambda w: ("/office/analytics/abc/", {})),
    Page("/office/analytics/snapshots/<id>/status/", "GET", ANALYTICS, 200,
         lambda w: (f"/office/analytics/snapshots/{w.snapshot}/status/", None)),
    Page("/office/analytics/snapshots/<id>/<table>.<format>", "GET", ANALYTICS, 200,
         lambda w: (f"/office/analytics/snapshots/{w.snapshot}/kpi.csv", None)),
    Page("/office/analytics/<kind>/share/", "POST", SHARERS, 200,
         lambda w: ("/office/analytics/dashboard/share/", {**MARCH, "part": "kpis", "days": "7"})),
    Page("/office/analytics/widgets/", "GET", SHARERS, 200, lambda w: ("/office/analytics/widgets/", None)),
    Page("/office/analytics/widgets/", "POST", SHARERS, 302,
         lambda w: ("/office/analytics/widgets/", {"link": w.widget_link()})),
]


def _office_names() -> set[str]:
    found = set()
    for pattern in get_resolver().url_patterns:
        if getattr(pattern, "namespace", None) == "backoffice":
            found |= {p.name for p in pattern.url_patterns if isinstance(p, URLPattern)}
    return found


def _expected(page: Page, role: str | None, method: str) -> int:
    if role in page.roles and method == page.method:
        return page.status
    taken = {p.method for p in PAGES if p.address == page.address}
    if method not in taken and role in set().union(*(p.roles for p in PAGES if p.address == page.address)):
        return 405
    return 403


def _send(client: Client, method: str, url: str, data):
    if method == "GET":
        return client.get(url)
    return client.post(url, data or {})


def test_the_table_names_every_address_of_the_back_office_and_says_what_docs_roles_md_says(staff):
    world = World(staff)
    named = {resolve(page.request(world)[0].split("?")[0]).url_name for page in PAGES}
    assert named == _office_names()
    assert {(p.address, p.method): p.roles for p in PAGES} == documented_office_rights()
    assert set(ROLE_NAMES) == set(ROLES)


def test_every_person_gets_exactly_the_status_of_each_cell(staff):
    world = World(staff)
    people = {role: Client() for role in [*ROLE_NAMES, None]}
    for role, client in people.items():
        client.force_login(staff(role) if role else staff())
    signed_out = Client()
    wrong = []
    addresses = {}
    for page in PAGES:
        addresses.setdefault(page.address, page)
    for page in PAGES:
        refused = page.request(world)
        for role, client in people.items():
            url, data = page.request(world) if role in page.roles else refused
            response = _send(client, page.method, url, data)
            if response.status_code != _expected(page, role, page.method):
                wrong.append((page.method, page.address, role, _expected(page, role, page.method),
                              response.status_code))
        url, data = refused
        response = _send(signed_out, page.method, url, data)
        if response.status_code != 302 or not response["Location"].startswith("/admin/login/?next=/office/"):
            wrong.append((page.method, page.address, "signed out", 302, response.status_code))
    for address, page in addresses.items():  # the method each address does not take
        other = {"GET", "POST"} - {p.method for p in PAGES if p.address == address}
        for method in other:
            url, _data = page.request(world)
            for role, client in [*people.items(), ("signed out", signed_out)]:
                response = _send(client, method, url, {})
                expected = 302 if role == "signed out" else _expected(page, role, method)
                if response.status_code != expected:
                    wrong.append((method, address, role, expected, response.status_code))
    assert wrong == [], "\n".join(map(str, wrong))


def test_the_changes_made_by_those_who_may_are_made_and_refusals_change_nothing(staff):
    world = World(staff)
    senior, support = Client(), Client()
    senior.force_login(staff("senior_support"))
    support.force_login(staff("support"))
    def counts():
        return [model.objects.count() for model in (Entry, Lot, Campaign, AuditEvent, Member, CompensationRequest,
                                                    Product, WidgetLink, ProgrammeSettings)]

    for page in PAGES:
        if page.method == "POST" and "support" not in page.roles:
            url, data = page.request(world)
            before = counts()
            assert support.post(url, data or {}).status_code == 403, page.address
            assert counts() == before, page.address
    entries = Entry.objects.count()
    url, data = _operation("spend")(world)
    assert senior.post(url, data)["Location"] == f"/office/members/{world.member}/"
    assert Entry.objects.count() == entries + 1
    waiting = world.waiting_request()
    senior.post(f"/office/compensations/{waiting}/decide/", {"decision": "approve", "comment": "ok"})
    assert CompensationRequest.objects.get(pk=waiting).status == CompensationRequest.Status.APPROVED
    marketer = Client()
    marketer.force_login(staff("marketer"))
    code = world.fresh_campaign()
    marketer.post(f"/office/campaigns/{code}/activate/")
    assert Campaign.objects.get(code=code).status == Campaign.Status.ACTIVE


def test_signed_out_people_are_sent_to_the_login_page():
    response = Client().get("/office/members/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("role, landing", [("administrator", "/office/members/"), ("marketer", "/office/campaigns/"),
                                           ("support", "/office/members/"), ("senior_support", "/office/members/"),
                                           ("head_of_support", "/office/members/"),
                                           ("analyst", "/office/analytics/"), ("auditor", "/office/members/")])
def test_the_front_door_leads_to_the_first_page_of_the_role(staff, role, landing):
    client = Client()
    client.force_login(staff(role))
    assert client.get("/office/")["Location"] == landing


def test_staff_without_a_role_and_people_who_are_not_staff_are_refused_everywhere(staff):
    roleless, customer = Client(), Client()
    roleless.force_login(staff())
    customer.force_login(User.objects.create_user("customer", password="pw"))
    for client in (roleless, customer):
        for path in ("/office/", "/office/members/", "/office/audit/", "/office/campaigns/"):
            assert client.get(path).status_code == 403, path


@pytest.mark.parametrize("role", sorted(ROLES))
def test_each_role_opens_exactly_its_administration_pages(staff, role):
    client = Client()
    client.force_login(staff(role))
    for path, allowed in ADMIN_PAGES.items():
        assert client.get(path).status_code == (200 if role in allowed else 403), (role, path)


@pytest.mark.parametrize("language, word", [("ru", "Выйти"), ("en", "Sign out")])
def test_every_page_speaks_the_browsers_language(staff, language, word):
    world = World(staff)
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(staff("administrator"))
    for page in PAGES:
        if page.method != "GET" or page.status != 200 or page.address.endswith((".xlsx", "/status/", "<format>")):
            continue  # files and JSON, not pages
        url, _data = page.request(world)
        shown = client.get(url)
        text = shown.content.decode()
        assert shown.status_code == 200 and f'<html lang="{language}">' in text and word in text, page.address


def test_reference_books_are_in_the_administration(staff):
    client = Client()
    client.force_login(staff("marketer"))
    for path in ("/admin/campaigns/campaigntype/", "/admin/ledger/reasoncode/", "/admin/customers/tag/",
                 "/admin/catalog/productgroup/"):
        assert client.get(path).status_code == 200, path


def test_the_catalogue_page_shows_the_redemption_shop_alone(staff):
    from kopilka.catalog.services import upsert_products

    upsert_products([{"sku": "GIFT-1", "name": "Сертификат", "price": "500", "is_partner": True},
                     {"sku": "CREAM-1", "name": "Крем", "price": "900"}])
    client = Client()
    client.force_login(staff("marketer"))
    shop = client.get("/office/catalog/", {"shop": "1"}).content.decode()
    assert "GIFT-1" in shop and "CREAM-1" not in shop
    export = client.get("/office/catalog/export.xlsx", {"shop": "1"})
    assert export.status_code == 200 and "redemption-shop.xlsx" in export["Content-Disposition"]
