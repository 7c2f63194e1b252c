"""The role × page matrix of the back office: every address of /office/, read (GET) and written (POST) by a person
signed out, by staff of every role and by staff without one, answers exactly as docs/roles.md says; so does every
page of the administration (/admin/) for each model registered there, and the public page of a widget link.

`PAGES` has one row per address and method the address takes: who may (the roles), what they get for a valid
request, and that request. From it, each cell: signed out, 302 to the sign-in page; a role not in the row, 403; a
method the address does not take, 405 to those who may use the address and 403 to the rest. docs/roles.md's table
must name the same rows and roles, and every address of the URL configuration must have a row. The administration's
table (`ADMINISTRATION`) and the widget links' (`WIDGET_LINKS`) are further down, each with its rules.
"""

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group, User
from django.db.models import Model
from django.test import Client
from django.urls import URLPattern, get_resolver, resolve

from kopilka.backoffice.models import CompensationLimit, CompensationRequest, WidgetLink
from kopilka.backoffice.roles import ROLES
from kopilka.campaigns.models import Campaign
from kopilka.catalog.models import Product
from kopilka.communications.notice_kinds import KINDS
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
LOG_READERS = DESK | {"marketer"}  # the delivery log of messages
CATALOGUE_READERS = {"administrator", "marketer", "analyst", "auditor"}
ANALYTICS = {"administrator", "marketer", "analyst"}
SHARERS = {"administrator", "analyst"}

_unique = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_unique)}"


class World:
    """What the addresses name: a member with points, a campaign, a done snapshot, a support agent's request
    waiting for approval; and, for a change that can be made only once, a fresh one for each allowed person."""

    def __init__(self, staff):
        from kopilka.catalog.services import upsert_group, upsert_products

        upsert_group(code="fillers", name="Филлеры")  # the template's product is in this group
        upsert_products([{"sku": "CREAM-1", "name": "Крем", "price": "900", "group": "fillers"}])
        self.member = make_member().pk
        self.accrual()
        self.campaign = self.fresh_campaign()
        self.template = self.fresh_template()
        self.journey = self.fresh_journey()
        self.snapshot = self._snapshot()
        self.agent = staff("support")  # whose requests wait for approval
        self.analyst = staff("analyst")  # who made the widget links
        self.webhook, self.delivery = self._webhook(staff("administrator"))
        self.mailing = self.fresh_mailing()
        self.mechanic_month = self.fresh_plan_month()

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

    @staticmethod
    def fresh_template() -> str:
        from kopilka.communications.message_templates import save_template

        code = unique("tpl")
        save_template(code=code, actor="test", **TEMPLATE)
        return code

    def fresh_mailing(self) -> int:
        from kopilka.communications.mailings.services import Variant, save_mailing

        return save_mailing(actor="test", variants=[Variant(self.template, 100)], **MAILING_FIELDS).pk

    def fresh_plan_month(self) -> str:
        """A month of its own (year 2030 on) with one mechanic."""
        from kopilka.communications.monthly_plan.services import save_mechanic

        month = f"{2030 + next(_unique)}-03"
        save_mechanic(month=date.fromisoformat(f"{month}-01"), actor="test", **MECHANIC_FIELDS)
        return month
    @staticmethod
    def fresh_journey() -> str:
        from kopilka.communications.journeys.services import create_journey

        code = unique("journey")
        create_journey(code=code, name="Путь", trigger={"kind": "event", "event": "order.paid"}, graph=JOURNEY,
                       actor="test")
        return code

    def waiting_request(self) -> int:
        from kopilka.backoffice import compensation

        made = compensation.request(self.agent, key=unique("c"), member_id=self.member, points=600,
                                    reason_code="goodwill", comment="Late delivery")
        assert made.status == made.Status.PENDING
        return made.pk

    def message(self) -> int:
        from kopilka.communications.services import notify

        return notify(self.member, kind="test", source=unique("s"), subject="Привет", body="Текст").pk

    def widget_link(self) -> int:
        from kopilka.backoffice import widgets

        link, _token = widgets.issue(self.analyst, "dashboard", {"start": "2026-03-01", "end": "2026-03-31"}, "kpis",
                                     7, summary="shared")
        return link.pk

    @staticmethod
    def _webhook(admin) -> tuple[int, int]:
        """An endpoint on loopback (allowed by an administrator) and a delivery of a test event to it."""
        from kopilka.communications import webhook_endpoints

        endpoint, _secret = webhook_endpoints.create_endpoint(admin, url=WEBHOOK["url"], allow_private=True,
                                                              event_types=WEBHOOK["event_types"])
        return endpoint.pk, webhook_endpoints.send_test_event(admin, endpoint.pk).pk

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
WEBHOOK = {"url": "http://127.0.0.1:9/hooks", "event_types": ["member.created"], "is_enabled": "on",
           "allow_private": "on"}
ADMINISTRATOR_ONLY = {"administrator"}

JOURNEY = {"start": "first", "steps": {"first": {"kind": "wait", "days": 1, "hours": 0, "next": None}}}
TEMPLATE = {"name": "Напоминание", "channel": "email", "purpose": "marketing", "subject_ru": "Бонусы",
            "body_ru": "{{ member.name }}, у вас {{ balance.available|points }} бонусов."}
# Every kind of notice on, with its shipped template (and three days before, where it counts them).
NOTICES = {field: value for kind, notice in KINDS.items() for field, value in (
    (f"{kind}-is_enabled", "on"), (f"{kind}-template", notice.template),
    *([(f"{kind}-days_before", "3")] if notice.counts_days else []))}

MAILING_FIELDS = {"name": "Весна", "channel": "email", "conditions": None, "holdout_percent": Decimal(10),
                  "rate_per_minute": None, "attribution_days": 7}
MECHANIC_FIELDS = {"title": "Весна", "goal": "Вернуть ушедших", "conditions": None, "kind": "text", "campaign": None,
                   "mailing": None, "journey": None, "description": "Письмо со скидкой", "communication": "e-mail",
                   "budget": Decimal("10000.00"), "budget_used_entered": None, "target_conversion": Decimal(5)}
MECHANIC_FORM = {"title": "Весна", "goal": "Вернуть ушедших", "kind": "text", "description": "Письмо",
                 "budget": "10000", "target_conversion": "5", "conditions_json": ""}


def _mailing_form(w) -> dict:
    return {"name": unique("Весна"), "channel": "email", "holdout_percent": "10", "attribution_days": "7",
            "template_0": w.template, "share_0": "100", "conditions_json": ""}


PAGES = [
    Page("/office/", "GET", ALL, 302, lambda w: ("/office/", None)),
    Page("/office/templates/", "GET", MAKERS, 200, lambda w: ("/office/templates/", None)),
    Page("/office/template-new/", "GET", MAKERS, 200, lambda w: ("/office/template-new/", None)),
    Page("/office/template-new/", "POST", MAKERS, 302,
         lambda w: ("/office/template-new/", {**TEMPLATE, "code": unique("tpl"), "save": "1"})),
    Page("/office/templates/<code>/", "GET", MAKERS, 200, lambda w: (f"/office/templates/{w.template}/", None)),
    Page("/office/templates/<code>/", "POST", MAKERS, 302,
         lambda w: (f"/office/templates/{w.template}/", {**TEMPLATE, "name": unique("Напоминание"), "save": "1"})),
    Page("/office/notices/", "GET", MAKERS | {"auditor"}, 200, lambda w: ("/office/notices/", None)),
    Page("/office/notices/", "POST", MAKERS, 302, lambda w: ("/office/notices/", NOTICES)),
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
    Page("/office/channels/", "GET", {"administrator", "auditor"}, 200, lambda w: ("/office/channels/", None)),
    Page("/office/channels/", "POST", {"administrator"}, 302,
         lambda w: ("/office/channels/", {"rules-quiet_hours": "22:00-08:00"})),
    Page("/office/messages/", "GET", LOG_READERS, 200, lambda w: ("/office/messages/?channel=sms", None)),
    Page("/office/messages/<id>/", "GET", LOG_READERS, 200, lambda w: (f"/office/messages/{w.message()}/", None)),
    Page("/office/campaigns/", "GET", ALL, 200, lambda w: ("/office/campaigns/", None)),
    Page("/office/campaign-new/", "GET", MAKERS, 200, lambda w: ("/office/campaign-new/", None)),
    Page("/office/campaign-new/", "POST", MAKERS, 302,
         lambda w: ("/office/campaign-new/", campaign_form(code=unique("new"), conditions_json="", save="1"))),
    Page("/office/campaign-eligible/", "POST", ALL, 200, lambda w: ("/office/campaign-eligible/", campaign_form())),
    Page("/office/campaigns/<code>/", "GET", ALL, 200, lambda w: (f"/office/campaigns/{w.campaign}/", None)),
    Page("/office/campaigns/<code>/", "POST", MAKERS, 302,
         lambda w: (f"/office/campaigns/{w.campaign}/", campaign_form(conditions_json="", save="1"))),
    Page("/office/campaigns/<code>/results/", "GET", ALL, 200,
         lambda w: (f"/office/campaigns/{w.campaign}/results/", None)),
    Page("/office/campaigns/<code>/results/<table>.<format>", "GET", ALL, 200,
         lambda w: (f"/office/campaigns/{w.campaign}/results/results-by-day.csv", None)),
    Page("/office/campaigns/<code>/<action>/", "POST", MAKERS, 302,
         lambda w: (f"/office/campaigns/{w.fresh_campaign()}/activate/", {})),
    Page("/office/mailings/", "GET", ANALYTICS, 200, lambda w: ("/office/mailings/", None)),
    Page("/office/mailing-new/", "GET", MAKERS, 200, lambda w: ("/office/mailing-new/", None)),
    Page("/office/mailing-new/", "POST", MAKERS, 302, lambda w: ("/office/mailing-new/", _mailing_form(w))),
    Page("/office/mailings/<id>/", "GET", ANALYTICS, 200, lambda w: (f"/office/mailings/{w.mailing}/", None)),
    Page("/office/mailings/<id>/", "POST", MAKERS, 302,
         lambda w: (f"/office/mailings/{w.mailing}/", _mailing_form(w))),
    Page("/office/mailings/<id>/progress/", "GET", ANALYTICS, 200,
         lambda w: (f"/office/mailings/{w.mailing}/progress/", None)),
    Page("/office/mailings/<id>/results/", "GET", ANALYTICS, 200,
         lambda w: (f"/office/mailings/{w.mailing}/results/", None)),
    Page("/office/mailings/<id>/results/<table>.<format>", "GET", ANALYTICS, 200,
         lambda w: (f"/office/mailings/{w.mailing}/results/mailing-groups.csv", None)),
    Page("/office/mailings/<id>/<action>/", "POST", MAKERS, 302,
         lambda w: (f"/office/mailings/{w.fresh_mailing()}/cancel/", {})),
    Page("/office/plan/", "GET", ANALYTICS, 302, lambda w: ("/office/plan/", None)),
    Page("/office/plan/<month>/", "GET", ANALYTICS, 200, lambda w: (f"/office/plan/{w.mechanic_month}/", None)),
    Page("/office/plan/<month>/new/", "GET", MAKERS, 200, lambda w: (f"/office/plan/{w.mechanic_month}/new/", None)),
    Page("/office/plan/<month>/new/", "POST", MAKERS, 302,
         lambda w: (f"/office/plan/{w.fresh_plan_month()}/new/", MECHANIC_FORM)),
    Page("/office/plan/<month>/<n>/", "GET", ANALYTICS, 200, lambda w: (f"/office/plan/{w.mechanic_month}/1/", None)),
    Page("/office/plan/<month>/<n>/", "POST", MAKERS, 302,
         lambda w: (f"/office/plan/{w.mechanic_month}/1/", MECHANIC_FORM)),
    Page("/office/catalog/", "GET", CATALOGUE_READERS, 200, lambda w: ("/office/catalog/", None)),
    Page("/office/catalog/", "POST", MAKERS, 302, lambda w: ("/office/catalog/", {"file": _workbook()})),
    Page("/office/journeys/", "GET", ANALYTICS, 200, lambda w: ("/office/journeys/", None)),
    Page("/office/journey-new/", "GET", MAKERS, 200, lambda w: ("/office/journey-new/", None)),
    Page("/office/journey-new/", "POST", MAKERS, 302,
         lambda w: ("/office/journey-new/", {"code": unique("journey"), "name": "", "start_from": "blank"})),
    Page("/office/journeys/<code>/", "GET", ANALYTICS, 200, lambda w: (f"/office/journeys/{w.journey}/", None)),
    Page("/office/journeys/<code>/results/", "GET", ANALYTICS, 200,
         lambda w: (f"/office/journeys/{w.journey}/results/", None)),
    Page("/office/journeys/<code>/results/<table>.<format>", "GET", ANALYTICS, 200,
         lambda w: (f"/office/journeys/{w.journey}/results/journey-groups.csv", None)),
    Page("/office/journeys/<code>/", "POST", MAKERS, 302, lambda w: (f"/office/journeys/{w.journey}/", {
        "name": unique("Путь"), "trigger_kind": "event", "event": "order.paid", "holdout_percent": "0",
        "attribution_days": "7", "graph_json": json.dumps(JOURNEY), "save": "1"})),
    Page("/office/journeys/<code>/<action>/", "POST", MAKERS, 302,
         lambda w: (f"/office/journeys/{w.fresh_journey()}/start/", {})),
    Page("/office/catalog/template.xlsx", "GET", CATALOGUE_READERS, 200,
         lambda w: ("/office/catalog/template.xlsx", None)),
    Page("/office/catalog/export.xlsx", "GET", CATALOGUE_READERS, 200, lambda w: ("/office/catalog/export.xlsx", None)),
    Page("/office/catalog/products/<sku>/", "GET", CATALOGUE_READERS, 200,
         lambda w: ("/office/catalog/products/CREAM-1/", None)),
    Page("/office/catalog/products/<sku>/", "POST", MAKERS, 302,
         lambda w: ("/office/catalog/products/CREAM-1/", {"name": "Крем", "price": str(900 + next(_unique)),
                                                          "group": "fillers", "is_active": "on"})),
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
    Page("/office/webhooks/", "GET", ADMINISTRATOR_ONLY, 200, lambda w: ("/office/webhooks/", None)),
    Page("/office/webhooks/new/", "GET", ADMINISTRATOR_ONLY, 200, lambda w: ("/office/webhooks/new/", None)),
    Page("/office/webhooks/new/", "POST", ADMINISTRATOR_ONLY, 302, lambda w: ("/office/webhooks/new/", WEBHOOK)),
    Page("/office/webhooks/<id>/", "GET", ADMINISTRATOR_ONLY, 200, lambda w: (f"/office/webhooks/{w.webhook}/", None)),
    Page("/office/webhooks/<id>/", "POST", ADMINISTRATOR_ONLY, 302,
         lambda w: (f"/office/webhooks/{w.webhook}/", {**WEBHOOK, "description": unique("CRM")})),
    Page("/office/webhooks/<id>/rotate/", "POST", ADMINISTRATOR_ONLY, 302,
         lambda w: (f"/office/webhooks/{w.webhook}/rotate/", {})),
    Page("/office/webhooks/<id>/retire/", "POST", ADMINISTRATOR_ONLY, 302,
         lambda w: (f"/office/webhooks/{w.webhook}/retire/", {})),
    Page("/office/webhooks/<id>/test/", "POST", ADMINISTRATOR_ONLY, 302,
         lambda w: (f"/office/webhooks/{w.webhook}/test/", {})),
    Page("/office/webhooks/<id>/deliveries/", "GET", ADMINISTRATOR_ONLY, 200,
         lambda w: (f"/office/webhooks/{w.webhook}/deliveries/", None)),
    Page("/office/webhooks/deliveries/<id>/replay/", "POST", ADMINISTRATOR_ONLY, 302,
         lambda w: (f"/office/webhooks/deliveries/{w.delivery}/replay/", {})),
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


@pytest.mark.parametrize("language, word", [("ru", "Выйти"), ("en", "Sign out")])
def test_every_page_speaks_the_browsers_language(staff, language, word):
    world = World(staff)
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(staff("administrator"))
    for page in PAGES:
        files_and_json = (".xlsx", "/status/", "/progress/", "<format>")
        if page.method != "GET" or page.status != 200 or page.address.endswith(files_and_json):
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


# The administration (/admin/) ---------------------------------------------------------------------------------------
#
# `ADMINISTRATION` has one row per model registered in the administration (a test fails when a registered model has
# none): who may read it (its list, an object's page and history), add, change and delete (an object's delete page,
# its confirmation, and the bulk delete of its list), and run its list's other actions. From a row, each cell: a
# person who may gets 200 for a page and 302 after a successful POST; anyone else 403, except that a reader posting
# a list action it may not run gets the list again (200: the list offers no such action); a person signed out or not
# staff is sent to the sign-in page (302) from every cell. A refused POST changes no row of any registered model nor
# the object it names; an allowed one changes them.

READERS = {"administrator", "marketer", "analyst", "auditor"}  # view_* of customers, ledger, catalog, campaigns, ...
AT_THE_DESK = READERS | {"support", "senior_support", "head_of_support"}  # and the support console's reads
ADMINISTRATOR = {"administrator"}
ADMINISTRATOR_AND_AUDITOR = {"administrator", "auditor"}
REFERENCE_EDITORS = {"administrator", "marketer"}
NOBODY: set[str] = set()
OUTSIDERS = {"signed out", "not staff"}
PASSWORD = "Kx7!plum-orchard-42"


def _region():
    from kopilka.customers.models import Region

    return Region.objects.get_or_create(code="77", defaults={"name": "Москва", "time_zone": "Europe/Moscow"})[0]


def _coded(**fields):
    """The form of a reference book's new entry: a fresh code and a name."""
    return lambda: {"code": unique("code"), "name": unique("Запись"), **fields}


def _renamed(field: str = "name"):
    return lambda: {field: unique("Новое имя")}


def _object(model_path: str, **fields):
    """Make an object of `model_path` ("app.Model") with `fields`; a callable value is called for each object."""
    def make():
        from django.apps import apps

        model = apps.get_model(model_path)
        return model._default_manager.create(**{k: v() if callable(v) else v for k, v in fields.items()})
    return make


def _product():
    from kopilka.catalog.models import Product
    from kopilka.catalog.services import upsert_products

    sku = unique("SKU")
    upsert_products([{"sku": sku, "name": "Крем", "price": "900"}])
    return Product.objects.get(sku=sku)


def _product_group():
    from kopilka.catalog.services import upsert_group

    return upsert_group(code=unique("group"), name="Филлеры")[0]


def _api_key():
    from kopilka.core.models import ApiKey

    return ApiKey.issue(unique("key"), ["members:read"])[0]


def _task_result():
    from django_tasks_db.models import DBTaskResult

    from kopilka.analytics.snapshots.lifecycle import compute_snapshot

    return DBTaskResult.objects.get(pk=compute_snapshot.enqueue(snapshot_id=0).id)


def _compensation_limit():
    return CompensationLimit.objects.create(role=Group.objects.create(name=unique("team")), per_operation=10,
                                            per_day=20)


def _member_tier():
    from kopilka.tiers.models import MemberTier

    return MemberTier.objects.create(member=make_member())


@dataclass(frozen=True)
class Registered:
    """A model of the administration (its label) and the roles that may read, add, change and delete its objects."""

    label: str
    view: set[str]
    add: set[str]
    change: set[str]
    delete: set[str]
    make: Callable[[], Model]  # an object of the model
    fields: Callable[[], dict] = dict  # a new object as its add form is filled in (fresh values on each call)
    edit: Callable[[], dict] = dict  # a change as the object's form is filled in (fresh values on each call)
    actions: dict[str, set[str]] = field(default_factory=dict)  # the list's other actions and who runs them
    # An object's other pages, read (GET) and sent (POST): address under the object's → (the right they need, as
    # "change", and their form filled in).
    pages: dict[str, tuple[str, Callable[[], dict]]] = field(default_factory=dict)


ADMINISTRATION = [
    Registered("auth.group", ADMINISTRATOR_AND_AUDITOR, ADMINISTRATOR, ADMINISTRATOR, ADMINISTRATOR,
               lambda: Group.objects.create(name=unique("team")), _renamed(), _renamed()),
    Registered("auth.user", ADMINISTRATOR_AND_AUDITOR, ADMINISTRATOR, ADMINISTRATOR, ADMINISTRATOR,
               lambda: User.objects.create_user(unique("someone"), password="pw"),
               lambda: {"username": unique("someone"), "usable_password": "true", "password1": PASSWORD,
                        "password2": PASSWORD},
               _renamed("first_name"),
               pages={"password/": ("change", lambda: {"password1": PASSWORD, "password2": PASSWORD})}),
    Registered("backoffice.compensationlimit", ADMINISTRATOR_AND_AUDITOR, ADMINISTRATOR, ADMINISTRATOR,
               ADMINISTRATOR, _compensation_limit,
               lambda: {"role": Group.objects.create(name=unique("team")).pk, "per_operation": "10", "per_day": "20"},
               lambda: {"per_day": str(next(_unique))}),
    Registered("campaigns.campaigntype", READERS, REFERENCE_EDITORS, REFERENCE_EDITORS, ADMINISTRATOR,
               _object("campaigns.CampaignType", code=lambda: unique("type"), name="Тип", lot_category="promo"),
               _coded(lot_category="promo"), _renamed()),
    Registered("campaigns.eventtype", READERS, REFERENCE_EDITORS, REFERENCE_EDITORS, NOBODY,
               _object("campaigns.EventType", code=lambda: unique("event"), name="Событие"), _coded(is_active="on"),
               _renamed()),
    Registered("catalog.product", READERS, NOBODY, REFERENCE_EDITORS, NOBODY, _product,
               lambda: {"sku": unique("SKU"), "name": "Крем", "price": "900"}, _renamed()),
    Registered("catalog.productgroup", READERS, NOBODY, REFERENCE_EDITORS, NOBODY, _product_group, _coded(),
               _renamed()),
    Registered("communications.message", AT_THE_DESK - {"analyst"}, NOBODY, NOBODY, NOBODY,
               _object("communications.Message", member=make_member, kind="test", source=lambda: unique("s"),
                       subject="Привет", body="Текст", status="queued", created_at=clock.now),
               lambda: {"kind": "test", "source": unique("s"), "subject": "Привет", "body": "Текст"},
               _renamed("subject")),
    Registered("core.apikey", ADMINISTRATOR_AND_AUDITOR, ADMINISTRATOR, ADMINISTRATOR, NOBODY, _api_key,
               lambda: {"name": unique("key"), "scopes": ["members:read"]}, _renamed(),
               actions={"revoke": ADMINISTRATOR}),
    Registered("core.auditevent", ADMINISTRATOR_AND_AUDITOR, NOBODY, NOBODY, NOBODY,
               _object("core.AuditEvent", at=clock.now, actor="t", action="test", summary="Что-то было"),
               lambda: {"actor": "t", "action": "test", "summary": "Не было"}, _renamed("summary")),
    Registered("core.periodicrun", ADMINISTRATOR, NOBODY, NOBODY, NOBODY,
               _object("core.PeriodicRun", job=lambda: unique("job"), slot=clock.now, worker_id="w"),
               lambda: {"job": unique("job"), "worker_id": "w"}, _renamed("worker_id")),
    Registered("customers.city", READERS, REFERENCE_EDITORS, REFERENCE_EDITORS, ADMINISTRATOR,
               _object("customers.City", region=_region, name=lambda: unique("Город")),
               lambda: {"region": _region().pk, "name": unique("Город")}, _renamed()),
    Registered("customers.eligibilityflag", READERS, ADMINISTRATOR, ADMINISTRATOR, ADMINISTRATOR,
               _object("customers.EligibilityFlag", code=lambda: unique("flag"), name="Признак"), _coded(),
               _renamed()),
    Registered("customers.member", AT_THE_DESK, NOBODY, NOBODY, NOBODY, make_member,
               lambda: {"last_name": "Петрова"}, _renamed("last_name")),
    Registered("customers.region", AT_THE_DESK, NOBODY, NOBODY, NOBODY,
               _object("customers.Region", code=lambda: f"Z{next(_unique) % 100:02d}", name=lambda: unique("Край"),
                       time_zone="Europe/Moscow"),
               lambda: {"code": "Z99", "name": unique("Край"), "time_zone": "Europe/Moscow"}, _renamed()),
    Registered("customers.tag", AT_THE_DESK, REFERENCE_EDITORS, REFERENCE_EDITORS, ADMINISTRATOR,
               _object("customers.Tag", code=lambda: unique("tag"), name="Метка"), _coded(), _renamed()),
    Registered("django_tasks_database.dbtaskresult", ADMINISTRATOR, NOBODY, NOBODY, NOBODY, _task_result,
               lambda: {"task_path": "x.y"}, lambda: {"status": "SUCCESSFUL"}),
    Registered("ledger.lotcategory", READERS, ADMINISTRATOR, ADMINISTRATOR, NOBODY,
               _object("ledger.LotCategory", code=lambda: unique("category"), name="Баллы"),
               _coded(redemption_rank="50"), _renamed()),
    Registered("ledger.reasoncode", AT_THE_DESK, REFERENCE_EDITORS, REFERENCE_EDITORS, ADMINISTRATOR,
               _object("ledger.ReasonCode", code=lambda: unique("reason"), name="Причина"), _coded(is_active="on"),
               _renamed()),
    Registered("orders.importbatch", READERS, NOBODY, NOBODY, NOBODY,
               _object("orders.ImportBatch", file_name="receipts.xlsx", file_sha256="0" * 64, source="import",
                       started_at=clock.now),
               lambda: {"file_name": "receipts.xlsx", "file_sha256": "0" * 64, "source": "import"},
               _renamed("file_name")),
    Registered("orders.order", AT_THE_DESK, NOBODY, NOBODY, NOBODY,
               _object("orders.Order", source="pos", external_id=lambda: unique("receipt"), purchased_at=clock.now,
                       total="100.00"),
               lambda: {"source": "pos", "external_id": unique("receipt"), "purchased_at_0": "2026-03-01",
                        "purchased_at_1": "10:00:00", "total": "100.00", "status": "completed"},
               lambda: {"external_id": unique("receipt")}),
    Registered("tiers.membertier", AT_THE_DESK, NOBODY, NOBODY, NOBODY, _member_tier,
               lambda: {"member": make_member().pk}, lambda: {"subscription_until_0": "2030-01-01"}),
    Registered("tiers.tier", AT_THE_DESK, REFERENCE_EDITORS, REFERENCE_EDITORS, ADMINISTRATOR,
               _object("tiers.Tier", code=lambda: unique("tier"), name="Уровень", rank=lambda: 1000 + next(_unique)),
               lambda: {**_coded()(), "rank": str(1000 + next(_unique)), "threshold": "0", "window_days": "365"},
               _renamed()),
    Registered("tiers.tierchange", READERS, NOBODY, NOBODY, NOBODY,
               _object("tiers.TierChange", member=make_member, reason="Покупки", actor="t", changed_at=clock.now),
               lambda: {"member": make_member().pk, "reason": "Подделка", "actor": "t"}, _renamed("reason")),
]


# Cells where the platform answers otherwise than its row says it should: reported, and kept here until fixed. While
# they answer so, the row's test is an expected failure; it fails when one is fixed and still listed.
KNOWN_DEFECTS: dict[str, tuple[set[str], str]] = {}


class _FormValues(HTMLParser):
    """What a browser sends for the form `form_id` of a page as it is shown (no button pressed)."""

    def __init__(self, page: str, form_id: str):
        super().__init__()
        self.form_id, self.inside, self.select, self.textarea = form_id, False, None, None
        self.values: dict[str, list[str]] = {}
        self.feed(page)

    def _add(self, name: str | None, value: str) -> None:
        if name and name != "csrfmiddlewaretoken":
            self.values.setdefault(name, []).append(value)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("id") == self.form_id:
            self.inside = True
        elif not self.inside:
            return
        elif tag == "input" and attrs.get("type", "text") not in ("submit", "button", "reset", "file", "image"):
            if attrs.get("type") not in ("checkbox", "radio") or "checked" in attrs:
                self._add(attrs.get("name"), attrs.get("value") or ("on" if "checked" in attrs else ""))
        elif tag == "select":
            self.select = (attrs.get("name"), "multiple" in attrs, [], [])  # name, multiple, options, chosen
        elif tag == "option" and self.select is not None:
            self.select[2].append(attrs.get("value") or "")
            if "selected" in attrs:
                self.select[3].append(attrs.get("value") or "")
        elif tag == "textarea":
            self.textarea = (attrs.get("name"), [])

    def handle_data(self, data):
        if self.textarea is not None:
            self.textarea[1].append(data)

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select" and self.select is not None:
            name, multiple, options, chosen = self.select
            for value in chosen or ([] if multiple else options[:1]):  # a list sends its first option by default
                self._add(name, value)
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            self._add(self.textarea[0], "".join(self.textarea[1]).removeprefix("\n"))
            self.textarea = None


@dataclass(frozen=True)
class Cell:
    name: str
    method: str
    roles: set[str]  # who may
    status: int  # what they get
    once: bool  # a write that can be made once: each person who may makes it on an object of their own
    request: Callable[[Model], tuple[str, dict | None]]  # the object → (address, form data)


def _model(row: Registered) -> type[Model]:
    from django.apps import apps

    return apps.get_model(row.label)


def _cells(row: Registered, administrator: Client) -> list[Cell]:
    """The cells of a row; the forms are filled in as the administrator's pages show them (to a person refused the
    page, the same form is sent)."""
    meta = _model(row)._meta
    listing = f"/admin/{meta.app_label}/{meta.model_name}/"

    forms: dict[str, dict] = {}

    def shown(url: str) -> dict:
        if url not in forms:
            page = administrator.get(url)
            forms[url] = _FormValues(page.content.decode(), f"{meta.model_name}_form").values \
                if page.status_code == 200 else {}
        return forms[url]

    added = shown(f"{listing}add/")

    def at(suffix: str):
        return lambda obj: (f"{listing}{obj.pk}/{suffix}", None)

    def form(suffix: str, fill: Callable[[], dict]):
        return lambda obj: (f"{listing}{obj.pk}/{suffix}", {**shown(f"{listing}{obj.pk}/{suffix}"), **fill()})

    def listed(action: str, **extra):
        return lambda obj: (listing, {"action": action, "_selected_action": [obj.pk], **extra})

    cells = [
        Cell("list", "GET", row.view, 200, False, lambda obj: (listing, None)),
        Cell("add page", "GET", row.add, 200, False, lambda obj: (f"{listing}add/", None)),
        Cell("object page", "GET", row.view, 200, False, at("change/")),
        Cell("history", "GET", row.view, 200, False, at("history/")),
        Cell("delete page", "GET", row.delete, 200, False, at("delete/")),
        Cell("add", "POST", row.add, 302, False, lambda obj: (f"{listing}add/", {**added, **row.fields()})),
        Cell("change", "POST", row.change, 302, False, form("change/", row.edit)),
        Cell("delete", "POST", row.delete, 302, True, lambda obj: (f"{listing}{obj.pk}/delete/", {"post": "yes"})),
        Cell("delete from the list", "POST", row.delete, 302, True, listed("delete_selected", post="yes")),
    ]
    for action, roles in row.actions.items():
        cells.append(Cell(f"{action} from the list", "POST", roles, 302, True, listed(action, index="0")))
    for suffix, (right, fill) in row.pages.items():
        roles = getattr(row, right)
        cells += [Cell(f"{suffix} page", "GET", roles, 200, False, at(suffix)),
                  Cell(suffix, "POST", roles, 302, True, form(suffix, fill))]
    return cells


def _admin_expected(cell: Cell, row: Registered, person: str) -> int:
    if person in OUTSIDERS:
        return 302
    if person in cell.roles:
        return cell.status
    if cell.name.endswith("from the list") and person in row.view:
        # The list again (200), nothing done; a person offered other actions on it is sent back to it (302, "no
        # action selected").
        return 302 if person in set().union(row.delete, *row.actions.values()) else 200
    return 403


@pytest.fixture
def quick_passwords(settings):
    """The people of a matrix are many; a cheap hasher makes them quickly (what they may do does not depend on it)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _people(staff) -> dict[str, Client]:
    """A signed-in client for staff of each role and without one, someone who is not staff, and someone signed out."""
    people = {}
    for role in [*ROLE_NAMES, None]:
        people[role or "no role"] = Client()
        people[role or "no role"].force_login(staff(role) if role else staff())
    people["not staff"] = Client()
    people["not staff"].force_login(User.objects.create_user(unique("customer"), password="pw"))
    people["signed out"] = Client()
    return people


def _state(obj: Model) -> tuple[dict[str, int], dict | None]:
    """The rows of every registered model (and of the administration's history), in one query, and the object as
    stored. The audit events of members shown (a list shown again after a refused action) record a read, not a
    change."""
    from django.db import connection

    from kopilka.core.models import AuditEvent

    models = [*admin.site._registry, LogEntry]
    reads = AuditEvent.objects.filter(action__in=["member.listed", "member.viewed"]).count()
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(f"(SELECT COUNT(*) FROM {connection.ops.quote_name(m._meta.db_table)})"
                                             for m in models))
        counts = dict(zip((m._meta.label_lower for m in models), cursor.fetchone(), strict=True))
    counts["core.auditevent"] -= reads
    return counts, type(obj)._default_manager.filter(pk=obj.pk).values().first()


def test_every_model_of_the_administration_has_a_row():
    registered = {model._meta.label_lower for model in admin.site._registry}
    assert sorted(row.label for row in ADMINISTRATION) == sorted(registered)


def test_the_rows_keep_djangos_rules_and_what_docs_roles_md_says_of_the_administration():
    rows = {row.label: row for row in ADMINISTRATION}
    for row in ADMINISTRATION:  # changing or deleting an object needs reading it; the administrator may read all
        assert row.change | row.delete | set().union(*row.actions.values()) <= row.view and "administrator" in row.view
    assert rows["catalog.product"].view == READERS
    for label in ("auth.user", "core.apikey", "backoffice.compensationlimit", "core.auditevent"):
        row = rows[label]
        assert row.view == ADMINISTRATOR_AND_AUDITOR and row.add | row.change | row.delete <= ADMINISTRATOR, label


@pytest.mark.parametrize("row", ADMINISTRATION, ids=lambda row: row.label)
def test_every_person_gets_exactly_the_status_of_each_administration_cell(staff, quick_passwords, row):
    people = _people(staff)
    shared = row.make()
    model = _model(row)
    wrong = []
    for cell in _cells(row, people["administrator"]):
        for person, client in people.items():
            may = person in cell.roles
            if not model._default_manager.filter(pk=shared.pk).exists():  # gone by a refusal that was not one
                shared = row.make()
            obj = row.make() if may and cell.once else shared
            url, data = cell.request(obj)
            before = _state(obj)
            response = client.get(url) if cell.method == "GET" else client.post(url, data)
            expected = _admin_expected(cell, row, person)
            if response.status_code != expected:
                wrong.append((cell.name, person, expected, response.status_code))
            elif person in OUTSIDERS and not response["Location"].startswith("/admin/login/?next=/admin/"):
                wrong.append((cell.name, person, "to the sign-in page", response["Location"]))
            if cell.method == "GET":
                continue
            after = _state(obj)
            if not may and after != before:
                wrong.append((cell.name, person, "refused, so nothing changes", "changed"))
            elif may and after == before:
                wrong.append((cell.name, person, "a change", "nothing changed"))
            elif may and cell.name == "add" and after[0][row.label] != before[0][row.label] + 1:
                wrong.append((cell.name, person, "one object more", after[0][row.label] - before[0][row.label]))
            elif may and cell.name.startswith("delete") and model._default_manager.filter(pk=obj.pk).exists():
                wrong.append((cell.name, person, "the object deleted", "it is still there"))
    known, defect = KNOWN_DEFECTS.get(row.label, (set(), ""))
    unknown = [cell for cell in wrong if cell[0] not in known]
    assert unknown == [], "\n".join(map(str, unknown))
    if known:
        assert {cell[0] for cell in wrong} == known, f"fixed: take {row.label} out of KNOWN_DEFECTS"
        pytest.xfail(f"{defect}: {wrong}")


def test_every_person_opens_the_index_of_the_administration_and_of_each_app_it_reads(staff, quick_passwords):
    """The index is every staff member's; an app's index shows the models a person reads, and is not found (404)
    by one who reads none of them; a search for a form's choice (autocomplete) answers those who read the model
    searched."""
    people = _people(staff)
    rows = {row.label: row for row in ADMINISTRATION}
    pages = {"/admin/": (set(ROLE_NAMES) | {"no role"}, 403)}
    for row in ADMINISTRATION:
        pages.setdefault(f"/admin/{row.label.split('.')[0]}/", (set(), 404))[0].update(row.view)
    for model, model_admin in admin.site._registry.items():
        for name in model_admin.autocomplete_fields:
            searched = model._meta.get_field(name).remote_field.model._meta.label_lower
            url = (f"/admin/autocomplete/?app_label={model._meta.app_label}&model_name={model._meta.model_name}"
                   f"&field_name={name}&term=")
            pages[url] = (rows[searched].view, 403)
    assert len(pages) > len({row.label.split(".")[0] for row in ADMINISTRATION}) + 1, "an autocomplete is covered"
    wrong = []
    for url, (readers, refused) in pages.items():
        for person, client in people.items():
            expected = 302 if person in OUTSIDERS else 200 if person in readers else refused
            if (got := client.get(url).status_code) != expected:
                wrong.append((url, person, expected, got))
    assert wrong == [], "\n".join(map(str, wrong))


# The public page of a widget link (/embed/analytics/<token>/) ---------------------------------------------------------
#
# The link is the key: whoever holds it, signed in or not, staff of any role or none, gets the same answer. A valid
# link shows its part (200), or says it is being computed (202) when no snapshot of its parameters is done yet; an
# expired, revoked or forged link is refused (403). A visit changes nothing (it queues no computation).

WIDGET_LINKS = {"valid": 200, "valid, not computed yet": 202, "expired": 403, "revoked": 403, "forged": 403}


def test_anyone_holding_a_widget_link_gets_exactly_the_status_of_its_state(staff, quick_passwords):
    from django_tasks_db.models import DBTaskResult

    from kopilka.analytics.models import Snapshot
    from kopilka.analytics.snapshots import lifecycle
    from kopilka.backoffice import widgets

    analyst = staff("analyst")
    lifecycle.compute(lifecycle.request("dashboard", MARCH, "test").pk)

    def link(params: dict) -> tuple[WidgetLink, str]:
        return widgets.issue(analyst, "dashboard", params, "kpis", 7, summary="shared")

    valid, expired, revoked = link(MARCH), link(MARCH), link(MARCH)
    pending = link({"start": "2026-02-01", "end": "2026-02-28"})  # nothing computed for February
    WidgetLink.objects.filter(pk=expired[0].pk).update(expires_at=clock.now())
    assert widgets.revoke(analyst, revoked[0].pk, summary="revoked")
    forged = f"{valid[0].pk}.{valid[1].split('.', 1)[1][::-1]}"  # its number, another secret
    tokens = {"valid": valid[1], "valid, not computed yet": pending[1], "expired": expired[1],
              "revoked": revoked[1], "forged": forged}
    assert tokens.keys() == WIDGET_LINKS.keys()
    people = _people(staff)
    computations = Snapshot.objects.count(), DBTaskResult.objects.count()
    wrong = []
    for state, token in tokens.items():
        for person, client in people.items():
            response = client.get(f"/embed/analytics/{token}/")
            if response.status_code != WIDGET_LINKS[state]:
                wrong.append((state, person, WIDGET_LINKS[state], response.status_code))
            elif state == "valid" and 'class="kpis"' not in response.content.decode():
                wrong.append((state, person, "the link's part", "not shown"))
    assert wrong == [], "\n".join(map(str, wrong))
    assert (Snapshot.objects.count(), DBTaskResult.objects.count()) == computations
