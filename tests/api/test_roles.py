"""The role × operation matrix of the API: every operation of the published schema, called by every kind of caller,
answers exactly as these tables say.

`OPERATIONS` has one row per operation (method, path as the schema names it, the one scope it needs, the status of
a valid request) and the request that row sends; `ROLE_SCOPES` says which scopes each back-office role holds through
its session (docs/roles.md says the same). From them, each cell: a caller without credentials gets 401; an API key
without the scope, a key holding every other scope, and a staff member whose role lacks it get 403; a key with
exactly the scope and every role holding it get the row's status. Refusals change nothing, and come before the
request is read: a refused caller that sends an invalid body or path still gets 401 or 403, never 422.
"""

import itertools
import json
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from kopilka.analytics.models import Snapshot
from kopilka.api.routes import api
from kopilka.backoffice.models import CompensationRequest
from kopilka.campaigns.models import Campaign, CampaignType, CampaignVersion, EventType
from kopilka.catalog.models import Product, ProductGroup
from kopilka.communications.models import Delivery, Endpoint, EndpointSecret
from kopilka.core import clock
from kopilka.core.models import SCOPES, ApiKey, AuditEvent, IdempotencyRecord, OutboxEvent, ProgrammeSettings
from kopilka.customers.models import Consent, EligibilityFlag, ExternalId, Member, Tag
from kopilka.ledger import services as ledger
from kopilka.ledger.models import Entry, Hold, Lot, LotCategory, ReasonCode
from kopilka.orders.models import Order
from kopilka.tiers.models import MemberTier, Tier
from tests.ledger.conftest import make_member
from tests.rights import ROLE_NAMES, documented_role_scopes

pytestmark = pytest.mark.django_db

PREFIX = "/api/v1"
ROLES = ROLE_NAMES  # the back office's roles, in the order of docs/roles.md

# scope → the roles whose staff hold it through their session (docs/roles.md, "The API")
ROLE_SCOPES = {
    "members:read": {"administrator", "marketer", "support", "senior_support", "head_of_support", "analyst"},
    "members:write": {"administrator"},
    "ledger:read": {"administrator", "support", "senior_support", "head_of_support", "analyst"},
    "ledger:write": {"administrator", "senior_support", "head_of_support"},
    "purchases:read": {"administrator", "support", "senior_support", "head_of_support", "analyst"},
    "purchases:write": {"administrator"},
    "catalog:read": {"administrator", "marketer", "analyst"},
    "catalog:write": {"administrator", "marketer"},
    "events:write": {"administrator"},
    "campaigns:read": {"administrator", "marketer", "analyst"},
    "campaigns:write": {"administrator", "marketer"},
    "analytics:read": {"administrator", "marketer", "analyst"},
    "reference:read": {"administrator", "marketer", "support", "senior_support", "head_of_support", "analyst"},
    "reference:write": {"administrator", "marketer"},
    "programme:read": {"administrator"},
    "programme:write": {"administrator"},
    "webhooks:write": {"administrator"},
}

_unique = itertools.count(1)
_ranks = itertools.count(10)  # of new tiers: unique, at most 1000


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_unique)}"


@dataclass
class Call:
    """What a row sends: path parameters, a JSON body (None: no body) and a query."""

    path: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    query: dict[str, Any] = field(default_factory=dict)


class World:
    """The objects the rows name: one member with points, a product, a campaign, tiers, an order, a done
    snapshot; and, for a write that can succeed only once, a fresh object for each allowed caller."""

    def __init__(self):
        self.member = make_member().pk
        self.entry = self.accrual(10_000)
        self.hold = self.fresh_hold()
        from kopilka.catalog.services import upsert_group, upsert_products

        upsert_group(code="care", name="Уход")
        upsert_products([{"sku": "CREAM", "name": "Крем", "price": "100", "group": "care"}])
        self.campaign = self.fresh_campaign()
        from kopilka.tiers.services import upsert_tier

        upsert_tier(code="silver", name="Серебро", rank=1, basis="turnover", threshold=1000)
        upsert_tier(code="club", name="Клуб", rank=2, basis="subscription")
        self.order = self.fresh_order()
        self.snapshot = self.done_snapshot()
        self.endpoint = self.fresh_endpoint()
        self.delivery = self.fresh_delivery()
        self.journey = self.fresh_journey()
        self.mailing = self.draft_mailing()

    def accrual(self, points: int) -> int:
        return ledger.accrue(member_id=self.member, points=points, actor="test", idempotency_key=unique("a")).pk

    def fresh_hold(self) -> int:
        return ledger.hold(member_id=self.member, points=1, actor="test", idempotency_key=unique("h")).pk

    def fresh_spending(self) -> int:
        return ledger.spend(member_id=self.member, points=1, actor="test", idempotency_key=unique("s")).pk

    def fresh_campaign(self) -> str:
        from kopilka.campaigns import services

        code = unique("promo")
        services.create_campaign(code=code, name="Promo", type="promo", starts_at=clock.now() - timedelta(days=1),
                                 actor="test", rules={"accrual": {"reward": "percent", "percent": "5"}})
        return code

    def fresh_order(self, paid: bool = False) -> int:
        from kopilka.purchases import flow
        from kopilka.purchases.quote import CartItem

        new = flow.NewOrder(source="pos", external_id=unique("R"), member_id=self.member, paid=paid,
                            items=[CartItem("CREAM", Decimal(1), Decimal("100.00"), Decimal("100.00"))])
        return flow.place_order(new, actor="test").pk

    def fresh_blocked_member(self) -> int:
        from kopilka.customers import services

        member = make_member().pk
        services.block_member(member_id=member, reason="fraud", actor="test")
        return member

    @staticmethod
    def fresh_endpoint() -> int:
        from kopilka.communications import webhook_endpoints

        return webhook_endpoints.create_endpoint(None, url=PUBLIC_HOOKS, event_types=["order.paid"], actor="t")[0].pk

    def fresh_delivery(self) -> Delivery:
        from kopilka.communications import webhook_endpoints

        return webhook_endpoints.send_test_event(None, self.endpoint, actor="t")

    @staticmethod
    def fresh_journey() -> str:
        from kopilka.communications.journeys.services import create_journey

        code = unique("journey")
        create_journey(code=code, name="Journey", trigger={"kind": "event", "event": "member.created"}, actor="t",
                       graph={"start": "w", "steps": {"w": {"kind": "wait", "days": 1, "hours": 0, "next": None}}})
        return code

    @staticmethod
    def draft_mailing() -> int:
        from kopilka.communications.mailings.services import Variant, save_mailing
        from kopilka.communications.message_templates import save_template

        save_template(code="spring", actor="t", name="Spring", channel="email", purpose="marketing",
                      subject_ru="Весна", body_ru="Весна")
        return save_mailing(actor="t", name="Spring", channel="email", conditions=None, holdout_percent=Decimal(0),
                            rate_per_minute=None, attribution_days=7, variants=[Variant("spring", 100)]).pk

    @staticmethod
    def done_snapshot() -> int:
        from kopilka.analytics.presentation.tables import Column, Table, to_dict

        table = to_dict(Table("kpi", "KPIs", [Column("code", "code")], [["members"]]))
        return Snapshot.objects.create(kind="dashboard", params={}, digest="x", status="done", requested_by="t",
                                       result={"tables": {"kpi": table}}, requested_at=clock.now(),
                                       finished_at=clock.now()).pk


def _member(w: World) -> Call:
    return Call({"member_id": w.member})


def _nothing(w: World) -> Call:
    return Call()


def _book_item(book: str) -> dict:
    item = {"code": unique(book[:3]), "name": "Entry"}
    return {**item, "redemption_rank": 7} if book == "lot-categories" else item


def _reference_rows(book: str) -> list[tuple]:
    rank = {"redemption_rank": 7} if book == "lot-categories" else {}
    return [
        ("GET", f"/reference/{book}", "reference:read", 200, _nothing),
        ("POST", f"/reference/{book}", "reference:write", 200, lambda w: Call(body={"items": [_book_item(book)]})),
        ("PUT", f"/reference/{book}/{{code}}", "reference:write", 201,
         lambda w: Call({"code": unique(book[:3])}, {"name": "Entry", **rank})),
    ]


CART = [{"sku": "CREAM", "quantity": 1, "price": "100"}]
PUBLIC_HOOKS = "https://93.184.216.34/hooks"  # a public address given as such: nothing to resolve, nothing sent
RULES = {"accrual": {"reward": "percent", "percent": "7"}}
MARCH = {"start": "2026-03-01", "end": "2026-03-31"}

# method, path (as the published schema names it, under /api/v1), scope, status of a valid request, the request
OPERATIONS = [
    ("GET", "/members/regions", "members:read", 200, _nothing),
    ("GET", "/members/", "members:read", 200, _nothing),
    ("POST", "/members/", "members:write", 201, lambda w: Call(body={"last_name": "Петрова"})),
    ("GET", "/members/{member_id}", "members:read", 200, _member),
    ("PATCH", "/members/{member_id}", "members:write", 200, lambda w: Call({"member_id": w.member},
                                                                          {"first_name": "Анна"})),
    ("POST", "/members/{member_id}/block", "members:write", 200,
     lambda w: Call({"member_id": make_member().pk}, {"reason": "fraud"})),
    ("POST", "/members/{member_id}/unblock", "members:write", 200,
     lambda w: Call({"member_id": w.fresh_blocked_member()}, {"reason": "resolved"})),
    ("POST", "/members/{member_id}/erase", "members:write", 200, lambda w: Call({"member_id": make_member().pk})),
    ("POST", "/members/{member_id}/consents", "members:write", 201,
     lambda w: Call({"member_id": w.member}, {"channel": "email", "granted": True, "source": "form"})),
    ("POST", "/members/{member_id}/external-ids", "members:write", 201,
     lambda w: Call({"member_id": w.member}, {"system": "card", "value": unique("card")})),

    ("GET", "/ledger/members/{member_id}/balance", "ledger:read", 200, _member),
    ("GET", "/ledger/members/{member_id}/history", "ledger:read", 200, _member),
    ("GET", "/ledger/entries/{entry_id}", "ledger:read", 200, lambda w: Call({"entry_id": w.entry})),
    ("GET", "/ledger/holds/{hold_id}", "ledger:read", 200, lambda w: Call({"hold_id": w.hold})),
    ("GET", "/ledger/utilization", "ledger:read", 200,
     lambda w: Call(query={"since": "2026-01-01T00:00:00Z", "until": "2027-01-01T00:00:00Z"})),
    ("POST", "/ledger/members/{member_id}/accruals", "ledger:write", 201,
     lambda w: Call({"member_id": w.member}, {"points": 10})),
    ("POST", "/ledger/members/{member_id}/spendings", "ledger:write", 201,
     lambda w: Call({"member_id": w.member}, {"points": 1})),
    ("POST", "/ledger/members/{member_id}/adjustments", "ledger:write", 201,
     lambda w: Call({"member_id": w.member}, {"points": 5, "reason_code": "goodwill"})),
    ("POST", "/ledger/members/{member_id}/holds", "ledger:write", 201,
     lambda w: Call({"member_id": w.member}, {"points": 1})),
    ("POST", "/ledger/holds/{hold_id}/capture", "ledger:write", 201, lambda w: Call({"hold_id": w.fresh_hold()}, {})),
    ("POST", "/ledger/holds/{hold_id}/release", "ledger:write", 200, lambda w: Call({"hold_id": w.fresh_hold()})),
    ("POST", "/ledger/entries/{entry_id}/reversal", "ledger:write", 201,
     lambda w: Call({"entry_id": w.accrual(5)}, {})),
    ("POST", "/ledger/entries/{entry_id}/return", "ledger:write", 201,
     lambda w: Call({"entry_id": w.fresh_spending()}, {})),

    ("GET", "/catalog/groups", "catalog:read", 200, _nothing),
    ("PUT", "/catalog/groups/{code}", "catalog:write", 201, lambda w: Call({"code": unique("g")}, {"name": "Group"})),
    ("POST", "/catalog/products", "catalog:write", 200,
     lambda w: Call(body={"products": [{"sku": unique("SKU"), "name": "Soap", "price": "10"}]})),
    ("GET", "/catalog/products", "catalog:read", 200, _nothing),
    ("GET", "/catalog/products/{sku}", "catalog:read", 200, lambda w: Call({"sku": "CREAM"})),

    ("GET", "/campaigns/types", "campaigns:read", 200, _nothing),
    ("PUT", "/campaigns/types/{code}", "campaigns:write", 201,
     lambda w: Call({"code": unique("t")}, {"name": "Type", "lot_category": "promo"})),
    ("GET", "/campaigns/", "campaigns:read", 200, _nothing),
    ("POST", "/campaigns/", "campaigns:write", 201, lambda w: Call(body={
        "code": unique("new"), "name": "New", "type": "promo", "starts_at": "2026-12-01T00:00:00Z", "rules": RULES})),
    ("GET", "/campaigns/{code}", "campaigns:read", 200, lambda w: Call({"code": w.campaign})),
    ("PATCH", "/campaigns/{code}", "campaigns:write", 200, lambda w: Call({"code": w.campaign}, {"name": "Renamed"})),
    ("PUT", "/campaigns/{code}/rules", "campaigns:write", 200, lambda w: Call({"code": w.campaign}, {"rules": RULES})),
    ("GET", "/campaigns/{code}/eligible", "campaigns:read", 200, lambda w: Call({"code": w.campaign})),
    ("POST", "/campaigns/{code}/{action}", "campaigns:write", 200,
     lambda w: Call({"code": w.fresh_campaign(), "action": "activate"}, {})),

    ("GET", "/purchases/banners", "purchases:read", 200, lambda w: Call(query={"sku": "CREAM"})),
    ("POST", "/purchases/evaluate", "purchases:read", 200, lambda w: Call(body={"lines": CART})),
    ("POST", "/purchases/", "purchases:write", 201,
     lambda w: Call(body={"order_id": unique("R"), "lines": CART, "member": {"id": w.member}})),
    ("GET", "/purchases/{order_id}", "purchases:read", 200, lambda w: Call({"order_id": w.order})),
    ("POST", "/purchases/{order_id}/returns", "purchases:write", 200,
     lambda w: Call({"order_id": w.fresh_order(paid=True)}, {"lines": [{"line": 1, "quantity": 1}]})),
    ("POST", "/purchases/{order_id}/{action}", "purchases:write", 200,
     lambda w: Call({"order_id": w.fresh_order(), "action": "pay"})),

    ("POST", "/events/", "events:write", 201, lambda w: Call(body={"member": {"id": w.member}, "type": "review"})),

    ("GET", "/tiers/", "members:read", 200, _nothing),
    ("PUT", "/tiers/{code}", "campaigns:write", 201,
     lambda w: Call({"code": unique("tier")}, {"name": "Tier", "rank": next(_ranks)})),
    ("GET", "/tiers/members/{member_id}", "members:read", 200, _member),
    ("POST", "/tiers/members/{member_id}/floor", "members:write", 200,
     lambda w: Call({"member_id": w.member}, {"tier": "silver", "reason": "VIP"})),
    ("POST", "/tiers/members/{member_id}/subscription", "members:write", 200,
     lambda w: Call({"member_id": w.member}, {"tier": "club", "months": 1})),

    ("GET", "/analytics", "analytics:read", 200, _nothing),
    ("POST", "/analytics/snapshots", "analytics:read", 202,
     lambda w: Call(body={"kind": "dashboard", "params": MARCH})),
    ("GET", "/analytics/snapshots/{snapshot_id}", "analytics:read", 200,
     lambda w: Call({"snapshot_id": w.snapshot})),
    ("GET", "/analytics/snapshots/{snapshot_id}/tables/{name}", "analytics:read", 200,
     lambda w: Call({"snapshot_id": w.snapshot, "name": "kpi"})),

    *_reference_rows("tags"),
    *_reference_rows("eligibility-flags"),
    *_reference_rows("event-types"),
    *_reference_rows("lot-categories"),
    *_reference_rows("reason-codes"),

    ("GET", "/programme/settings", "programme:read", 200, _nothing),
    ("PATCH", "/programme/settings", "programme:write", 200, lambda w: Call(body={"backdating_days": 10})),

    ("GET", "/communications/webhooks", "webhooks:write", 200, _nothing),
    ("POST", "/communications/webhooks", "webhooks:write", 201,
     lambda w: Call(body={"url": PUBLIC_HOOKS, "event_types": ["order.paid"]})),
    ("PATCH", "/communications/webhooks/{endpoint_id}", "webhooks:write", 200,
     lambda w: Call({"endpoint_id": w.endpoint}, {"event_types": ["order.paid", "points.spent"]})),
    ("POST", "/communications/webhooks/{endpoint_id}/rotate", "webhooks:write", 200,
     lambda w: Call({"endpoint_id": w.endpoint})),
    ("POST", "/communications/webhooks/{endpoint_id}/test", "webhooks:write", 202,
     lambda w: Call({"endpoint_id": w.endpoint})),
    ("GET", "/communications/webhooks/{endpoint_id}/deliveries", "webhooks:write", 200,
     lambda w: Call({"endpoint_id": w.endpoint})),
    ("POST", "/communications/webhooks/deliveries/{delivery_id}/replay", "webhooks:write", 202,
     lambda w: Call({"delivery_id": w.delivery.pk})),
    ("POST", "/communications/webhooks/{endpoint_id}/events/{event_id}/replay", "webhooks:write", 202,
     lambda w: Call({"endpoint_id": w.endpoint, "event_id": w.delivery.event_id})),
    ("GET", "/communications/journeys", "campaigns:read", 200, _nothing),
    ("GET", "/communications/journeys/{code}", "campaigns:read", 200, lambda w: Call({"code": w.journey})),
    ("GET", "/communications/journeys/{code}/results", "campaigns:read", 200,
     lambda w: Call({"code": w.journey})),
    ("POST", "/communications/journeys/{code}/{action}", "campaigns:write", 200,
     lambda w: Call({"code": w.fresh_journey(), "action": "start"})),
    ("GET", "/communications/mailings", "campaigns:read", 200, _nothing),
    ("GET", "/communications/mailings/{mailing_id}", "campaigns:read", 200,
     lambda w: Call({"mailing_id": w.mailing})),
    ("GET", "/communications/mailings/{mailing_id}/results", "campaigns:read", 200,
     lambda w: Call({"mailing_id": w.mailing})),
]

# What a refused request must leave as it was.
WATCHED = [Member, Consent, ExternalId, Entry, Lot, Hold, Order, Campaign, CampaignVersion, CampaignType, EventType,
           Product, ProductGroup, Tier, MemberTier, Tag, EligibilityFlag, LotCategory, ReasonCode, Snapshot,
           ProgrammeSettings, IdempotencyRecord, AuditEvent, CompensationRequest, Endpoint, EndpointSecret, Delivery,
           OutboxEvent]


def _counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in WATCHED}


def _schema_operations() -> dict[tuple[str, str], dict]:
    schema = api.get_openapi_schema()
    return {(method.upper(), path.removeprefix(PREFIX)): operation
            for path, methods in schema["paths"].items() for method, operation in methods.items()}


class Caller:
    """A client with one kind of credentials; every request carries a new Idempotency-Key. CSRF is enforced as in
    a browser, and a staff member's requests carry the session's token."""

    def __init__(self, name: str, client: Client, headers: dict[str, str]):
        self.name, self.client, self.headers = name, client, headers

    def send(self, method: str, path: str, call: Call, body: Any = None):
        sent = call.body if body is None else body
        headers = {**self.headers, "HTTP_IDEMPOTENCY_KEY": unique("idem"), "HTTP_ACCEPT_LANGUAGE": "en"}
        url = PREFIX + path.format(**call.path)
        if method == "GET":
            return self.client.get(url, call.query, **headers)
        data = "" if sent is None else json.dumps(sent)
        return self.client.generic(method, url, data, content_type="application/json", **headers)


@pytest.fixture
def callers(staff) -> dict[str, Caller]:
    found = {"no credentials": Caller("no credentials", Client(enforce_csrf_checks=True), {})}

    def key(name: str, scopes: list[str], header: str = "bearer") -> None:
        _key, token = ApiKey.issue(name, scopes)
        sent = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if header == "bearer" else {"HTTP_X_API_KEY": token}
        found[name] = Caller(name, Client(enforce_csrf_checks=True), sent)

    key("key without scopes", [])
    for scope in SCOPES:
        key(f"key {scope}", [scope])
    for role in [*ROLES, None]:
        client = Client(enforce_csrf_checks=True)
        client.force_login(staff(role) if role else staff())
        token = secrets.token_hex(16)
        client.cookies["csrftoken"] = token
        name = f"staff {role or 'without a role'}"
        found[name] = Caller(name, client, {"HTTP_X_CSRFTOKEN": token})
    return found


def _all_but(scope: str) -> Caller:
    _key, token = ApiKey.issue(f"all but {scope}", [s for s in SCOPES if s != scope])
    return Caller(f"key with every scope but {scope}", Client(enforce_csrf_checks=True), {"HTTP_X_API_KEY": token})


def _expected(caller: str, scope: str, ok: int) -> int:
    if caller == "no credentials":
        return 401
    if caller == f"key {scope}":
        return ok
    if caller.startswith("staff ") and caller.removeprefix("staff ") in ROLE_SCOPES[scope]:
        return ok
    return 403


def test_the_table_names_every_operation_of_the_schema_with_the_scope_it_publishes():
    published = _schema_operations()
    rows = {(method, path): scope for method, path, scope, _ok, _call in OPERATIONS}
    assert len(rows) == len(OPERATIONS), "an operation has two rows"
    assert set(rows) == set(published), (sorted(set(published) - set(rows)), sorted(set(rows) - set(published)))
    for (method, path), scope in rows.items():
        security = published[(method, path)]["security"]
        assert security == [{name: [scope]} for name in ("BearerKey", "HeaderKey", "StaffSession")], (method, path)


def test_each_role_holds_exactly_the_scopes_of_the_table_and_of_the_document(staff):
    assert set(ROLE_SCOPES) == set(SCOPES)
    for role in ROLES:
        user = staff(role)
        held = {scope for scope in SCOPES if user.has_perm("core." + scope.replace(":", "_"))}
        assert held == {scope for scope, roles in ROLE_SCOPES.items() if role in roles}, role
    assert documented_role_scopes() == ROLE_SCOPES


def test_every_caller_gets_exactly_the_status_of_its_cell_and_refusals_change_nothing(callers):
    world = World()
    all_but = {scope: _all_but(scope) for scope in SCOPES}
    wrong = []
    for method, path, scope, ok, build in OPERATIONS:
        call = build(world)
        before = _counts()
        allowed = []
        for caller in [*callers.values(), all_but[scope]]:
            expected = _expected(caller.name, scope, ok)
            if expected == ok:
                allowed.append(caller)
                continue
            response = caller.send(method, path, call)
            if response.status_code != expected or not response["Content-Type"].startswith("application/json"):
                wrong.append((method, path, caller.name, expected, response.status_code, response.content[:200]))
        if _counts() != before:
            wrong.append((method, path, "refusals changed", before, _counts()))
        for number, caller in enumerate(allowed):
            response = caller.send(method, path, call if number == 0 else build(world))
            if response.status_code != ok or not response["Content-Type"].startswith("application/json"):
                wrong.append((method, path, caller.name, ok, response.status_code, response.content[:300]))
    assert wrong == [], "\n".join(map(str, wrong))


def test_a_write_that_takes_an_idempotency_key_is_refused_without_one_and_changes_nothing(callers):
    world = World()
    published = _schema_operations()
    wrong = []
    for method, path, scope, _ok, build in OPERATIONS:
        headers = {p["name"] for p in published[(method, path)].get("parameters", []) if p["in"] == "header"}
        if "Idempotency-Key" not in headers:
            continue
        caller, call = callers[f"key {scope}"], build(world)
        before = _counts()
        url = PREFIX + path.format(**call.path)
        data = "" if call.body is None else json.dumps(call.body)
        response = caller.client.generic(method, url, data, content_type="application/json", **caller.headers)
        if response.status_code != 422 or response.json()["code"] != "idempotency_key_required":
            wrong.append((method, path, response.status_code, response.content[:200]))
        if _counts() != before:
            wrong.append((method, path, "changed", before, _counts()))
    assert wrong == [], "\n".join(map(str, wrong))


INVALID_BODY = [1, {"points": "many"}]  # the wrong JSON type for every body, and a wrong type for a field


def test_a_refused_caller_learns_nothing_about_the_request_an_invalid_body_or_path_is_still_401_or_403(callers):
    world = World()
    published = _schema_operations()
    refused = [callers["no credentials"], callers["key without scopes"], callers["staff without a role"],
               callers["staff auditor"]]
    wrong = []
    for method, path, scope, _ok, build in OPERATIONS:
        call = build(world)
        bodies = INVALID_BODY if "requestBody" in published[(method, path)] else [None]
        for caller in refused:
            for body in bodies:
                response = caller.send(method, path, call, body=body)
                if response.status_code != _expected(caller.name, scope, 0):
                    wrong.append((method, path, caller.name, body, response.status_code))
    # a path or a query the operation would refuse as invalid
    for caller in refused:
        for url in ("/ledger/members/not-a-number/balance", "/ledger/utilization?since=yesterday"):
            response = caller.client.get(PREFIX + url, **caller.headers)
            if response.status_code != _expected(caller.name, "ledger:read", 0):
                wrong.append(("GET", url, caller.name, None, response.status_code))
    assert wrong == [], "\n".join(map(str, wrong))


def test_a_staff_write_without_the_sessions_csrf_token_is_refused_and_changes_nothing(staff):
    administrator = Client(enforce_csrf_checks=True)
    administrator.force_login(staff("administrator"))
    before = Member.objects.count()
    response = administrator.post(f"{PREFIX}/members/", '{"last_name": "Петрова"}', content_type="application/json",
                                  HTTP_IDEMPOTENCY_KEY="m-1", HTTP_ACCEPT_LANGUAGE="en")
    assert (response.status_code, response.json()["code"]) == (403, "csrf_failed")
    assert Member.objects.count() == before
    assert administrator.get(f"{PREFIX}/members/regions").status_code == 200  # reads need no token


def test_a_write_without_any_credentials_is_401_even_when_csrf_is_enforced():
    nobody = Client(enforce_csrf_checks=True)
    response = nobody.post(f"{PREFIX}/members/", "{}", content_type="application/json", HTTP_IDEMPOTENCY_KEY="m-1")
    assert (response.status_code, response.json()["code"]) == (401, "unauthenticated")
    wrong_key = nobody.post(f"{PREFIX}/members/", "{}", content_type="application/json",
                            HTTP_AUTHORIZATION="Bearer kpk_000000000000_wrong")
    assert (wrong_key.status_code, wrong_key.json()["code"]) == (401, "unauthenticated")


def test_a_signed_in_person_who_is_not_staff_is_not_a_caller(django_user_model):
    person = Client()
    person.force_login(django_user_model.objects.create_user("customer", password="pw"))
    assert person.get(f"{PREFIX}/members/regions").status_code == 401


def test_the_csrf_refusal_speaks_the_requests_language(staff):
    agent = Client(enforce_csrf_checks=True)
    agent.force_login(staff("senior_support"))
    refused = agent.post(f"{PREFIX}/ledger/members/1/accruals", '{"points": 1}', content_type="application/json",
                         HTTP_IDEMPOTENCY_KEY="a-1", HTTP_ACCEPT_LANGUAGE="ru")
    assert (refused.status_code, refused.json()["message"]) == (403, "В запросе нет CSRF-токена сеанса.")


def test_only_the_description_of_the_api_is_open_to_anyone():
    nobody = Client(enforce_csrf_checks=True)
    assert nobody.get(f"{PREFIX}/openapi.json").status_code == 200
    assert nobody.get(f"{PREFIX}/docs").status_code == 200
    for path in ("openapi.json", "docs"):
        refused = nobody.post(f"{PREFIX}/{path}")
        assert (refused.status_code, refused.json()["code"], refused["Allow"]) == (405, "method_not_allowed",
                                                                                  "GET, HEAD")


def test_a_refusal_that_django_answered_under_the_api_keeps_its_meaning_in_the_apis_shape():
    from django.http import HttpResponseForbidden
    from django.utils import translation

    from kopilka.api.middleware import _shaped

    with translation.override("en"):
        shaped = _shaped(HttpResponseForbidden("<h1>Forbidden</h1>"))
    assert (shaped.status_code, json.loads(shaped.content)) == (403, {
        "code": "forbidden", "message": "You do not have permission to do this.", "details": {}})
