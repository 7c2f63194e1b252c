"""Communications over HTTP: webhook endpoints kept by an integration (the secret in the creating or rotating answer
only; refusals in the error shape and the caller's language; nothing saved when refused), an endpoint made through
the API receiving signed events on loopback, its deliveries and replays; journeys with their steps and counts moved
through their life (409 for a move their status forbids); mailings with their progress and results per group."""

import ipaddress
from decimal import Decimal

import pytest
from django.test import Client

from kopilka.communications import webhook_addresses, webhook_endpoints
from kopilka.communications.journeys.models import Journey
from kopilka.communications.journeys.services import create_journey
from kopilka.communications.mailings import building
from kopilka.communications.mailings import services as mailings
from kopilka.communications.mailings.services import Variant
from kopilka.communications.message_templates import save_template
from kopilka.communications.models import Delivery, Endpoint, EndpointSecret
from kopilka.communications.services import deliver_queued
from kopilka.communications.webhook_delivery import deliver_webhooks
from kopilka.core import clock, programme
from kopilka.core.models import AuditEvent, ProgrammeSettings
from kopilka.customers import services as members
from tests.analytics.programmes import buy

pytestmark = pytest.mark.django_db

URL = "/api/v1/communications"
HOOKS = "https://hooks.example.com/in"


@pytest.fixture
def public_dns(monkeypatch):
    """hooks.example.com is a public address; every other name resolves as it does."""
    real = webhook_addresses.resolve

    def resolve(host, port):
        return [ipaddress.ip_address("93.184.216.34")] if host == "hooks.example.com" else real(host, port)

    monkeypatch.setattr(webhook_addresses, "resolve", resolve)


@pytest.fixture
def integration(caller_with, public_dns):
    return caller_with("webhooks:write")


def saved() -> list:
    return [list(Endpoint.objects.values_list("url", "event_types", "is_enabled")), EndpointSecret.objects.count(),
            Delivery.objects.count(), AuditEvent.objects.count()]


# Webhook endpoints


def test_an_endpoint_is_created_with_its_secret_in_that_answer_alone_and_audited(integration):
    created = integration.post(f"{URL}/webhooks", {"url": HOOKS, "event_types": ["order.paid", "member.created"]},
                               key="w-1")
    assert created.status_code == 201
    body = created.json()
    endpoint = Endpoint.objects.get()
    assert body["secret"].startswith("whsec_") and body["secret"] == EndpointSecret.objects.get().secret
    assert (body["id"], body["url"], body["event_types"], body["is_enabled"], body["allow_private"]) == (
        endpoint.pk, HOOKS, ["member.created", "order.paid"], True, False)

    listed = integration.get(f"{URL}/webhooks")
    assert listed.status_code == 200
    assert [{**row, "secret": None} for row in listed.json()] == [{**body, "secret": None}]
    assert "secret" not in listed.json()[0]
    assert integration.post(f"{URL}/webhooks", {"url": HOOKS, "event_types": ["order.paid", "member.created"]},
                            key="w-1").json() == body  # a replay: the first answer, nothing new
    assert (Endpoint.objects.count(), EndpointSecret.objects.count()) == (1, 1)
    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.user) == ("webhook.created", "apikey:test-key-0", None)


@pytest.mark.parametrize(("sent", "status", "code", "message"), [
    ({"url": "http://127.0.0.1/hooks", "event_types": ["order.paid"]}, 422, "webhook_address_private",
     "Адрес вебхука 127.0.0.1 ведёт на частный или локальный адрес (127.0.0.1); разрешить такие адреса может "
     "только администратор."),
    ({"url": "ftp://hooks.example.com/in", "event_types": ["order.paid"]}, 422, "webhook_address_invalid",
     "Адрес вебхука начинается с http:// или https:// и содержит имя хоста."),
    ({"url": HOOKS, "event_types": ["order.paid", "order.lost"]}, 422, "webhook_event_types",
     "Выберите хотя бы один тип события из списка."),
    ({"url": HOOKS, "event_types": ["order.paid"], "allow_private": True}, 403, "webhook_private_not_allowed",
     "Разрешить вебхуки на частные адреса может только администратор."),
])
def test_a_refused_endpoint_is_answered_in_the_callers_language_and_nothing_is_saved(integration, sent, status,
                                                                                    code, message):
    integration.headers["HTTP_ACCEPT_LANGUAGE"] = "ru"
    refused = integration.post(f"{URL}/webhooks", sent, key="w-1")
    assert (refused.status_code, refused.json()["code"], refused.json()["message"]) == (status, code, message)
    assert saved() == [[], 0, 0, 0]


def test_webhooks_need_their_scope_and_an_unknown_endpoint_is_404(caller_with, integration):
    endpoint, _secret = webhook_endpoints.create_endpoint(None, url=HOOKS, event_types=["order.paid"], actor="t")
    before = saved()
    marketer = caller_with("campaigns:write", "campaigns:read")
    for method, path in [("get", "/webhooks"), ("post", "/webhooks"), ("patch", f"/webhooks/{endpoint.pk}"),
                         ("post", f"/webhooks/{endpoint.pk}/rotate"), ("get", f"/webhooks/{endpoint.pk}/deliveries")]:
        refused = marketer.get(URL + path) if method == "get" else marketer.write(
            method, URL + path, {"url": HOOKS, "event_types": ["order.paid"]}, key="k")
        assert (refused.status_code, refused.json()["code"]) == (403, "forbidden"), (method, path)
    missing = endpoint.pk + 1
    for answer in [integration.patch(f"{URL}/webhooks/{missing}", {"is_enabled": False}, key="m-1"),
                   integration.post(f"{URL}/webhooks/{missing}/rotate", key="m-2"),
                   integration.post(f"{URL}/webhooks/{missing}/test", key="m-3"),
                   integration.get(f"{URL}/webhooks/{missing}/deliveries"),
                   integration.post(f"{URL}/webhooks/deliveries/1/replay", key="m-4"),
                   integration.post(f"{URL}/webhooks/{endpoint.pk}/events/1/replay", key="m-5")]:
        assert answer.status_code == 404 and answer.json()["code"] in (
            "webhook_endpoint_not_found", "webhook_delivery_not_found"), answer.json()
    integration.headers["HTTP_ACCEPT_LANGUAGE"] = "ru"
    never = integration.post(f"{URL}/webhooks/{endpoint.pk}/events/1/replay", key="m-6").json()
    assert (never["message"], never["details"]) == ("Это событие на этот адрес не отправлялось.",
                                                    {"endpoint_id": endpoint.pk, "event_id": 1})
    assert saved() == before


def test_an_endpoint_changes_only_what_is_sent_and_a_disabled_one_is_not_replayed(integration):
    endpoint, _secret = webhook_endpoints.create_endpoint(None, url=HOOKS, event_types=["order.paid"], actor="t")
    delivery = webhook_endpoints.send_test_event(None, endpoint.pk, actor="t")
    changed = integration.patch(f"{URL}/webhooks/{endpoint.pk}", {"event_types": ["points.spent", "order.paid"],
                                                                  "is_enabled": False}, key="c-1")
    assert changed.status_code == 200
    body = changed.json()
    assert (body["url"], body["event_types"], body["is_enabled"], body["disabled_reason"]) == (
        HOOKS, ["order.paid", "points.spent"], False, "Disabled by apikey:test-key-0")
    assert AuditEvent.objects.filter(action="webhook.changed", actor="apikey:test-key-0").count() == 1

    before = saved()
    refused = integration.post(f"{URL}/webhooks/deliveries/{delivery.pk}/replay", key="r-1")
    assert (refused.status_code, refused.json()["code"]) == (409, "webhook_endpoint_disabled")
    unknown = integration.patch(f"{URL}/webhooks/{endpoint.pk}", {"event_types": ["nothing.happened"]}, key="c-2")
    assert (unknown.status_code, unknown.json()["code"]) == (422, "webhook_event_types")
    assert saved() == before

    enabled = integration.patch(f"{URL}/webhooks/{endpoint.pk}", {"is_enabled": True}, key="c-3").json()
    assert (enabled["is_enabled"], enabled["disabled_reason"], enabled["event_types"]) == (
        True, "", ["order.paid", "points.spent"])


def test_a_rotation_answers_the_new_secret_once_and_the_old_one_keeps_signing(integration):
    endpoint, first = webhook_endpoints.create_endpoint(None, url=HOOKS, event_types=["order.paid"], actor="t")
    rotated = integration.post(f"{URL}/webhooks/{endpoint.pk}/rotate", key="r-1")
    assert rotated.status_code == 200
    second = rotated.json()["secret"]
    assert second.startswith("whsec_") and second != first
    assert [s.secret for s in webhook_endpoints.in_use(endpoint)] == [first, second]
    assert integration.post(f"{URL}/webhooks/{endpoint.pk}/rotate", key="r-1").json()["secret"] == second
    assert EndpointSecret.objects.count() == 2
    assert "secret" not in integration.get(f"{URL}/webhooks").json()[0]


def test_an_endpoint_made_through_the_api_receives_signed_events_and_its_deliveries_are_replayed(
        receiver, staff, caller_with):
    administrator = Client()
    administrator.force_login(staff("administrator"))
    created = administrator.post(f"{URL}/webhooks", {"url": receiver.url, "event_types": ["member.created"],
                                                     "allow_private": True},
                                 content_type="application/json", HTTP_IDEMPOTENCY_KEY="w-1")
    assert created.status_code == 201
    endpoint_id = created.json()["id"]
    receiver.secrets.append(created.json()["secret"])

    anna = members.create_member(actor="t", last_name="Соколова")
    assert deliver_webhooks() == 1
    [request] = receiver.received
    assert request.verified_with == receiver.secrets
    assert request.json["type"] == "member.created" and request.json["data"]["member_id"] == anna.pk

    integration = caller_with("webhooks:write")
    [listed] = integration.get(f"{URL}/webhooks/{endpoint_id}/deliveries").json()
    delivery = Delivery.objects.get()
    assert (listed["id"], listed["webhook_id"], listed["event_type"], listed["status"], listed["attempts"],
            listed["status_code"], listed["event_id"]) == (
        delivery.pk, request.headers["webhook-id"], "member.created", "delivered", 1, 200, delivery.event_id)
    assert [t["status_code"] for t in listed["tries"]] == [200]
    assert integration.get(f"{URL}/webhooks/{endpoint_id}/deliveries", {"status": "failed"}).json() == []

    replayed = integration.post(f"{URL}/webhooks/deliveries/{delivery.pk}/replay", key="r-1")
    assert (replayed.status_code, replayed.json()["status"], replayed.json()["attempts"]) == (202, "pending", 0)
    assert deliver_webhooks() == 1
    again = integration.post(f"{URL}/webhooks/{endpoint_id}/events/{delivery.event_id}/replay", key="r-2")
    assert (again.status_code, again.json()["id"]) == (202, delivery.pk)
    assert deliver_webhooks() == 1
    assert [r.headers["webhook-id"] for r in receiver.received] == [delivery.webhook_id] * 3
    assert all(r.verified_with == receiver.secrets for r in receiver.received)
    assert AuditEvent.objects.filter(action="webhook.replayed", actor="apikey:test-key-0").count() == 2


# Journeys

WAIT = {"start": "pause", "steps": {"pause": {"kind": "wait", "days": 3, "hours": 0, "next": None}}}


def test_a_journey_is_read_with_its_steps_and_counts_and_moved_through_its_life(caller_with):
    create_journey(code="welcome", name="Приветствие", trigger={"kind": "event", "event": "member.created"},
                   graph=WAIT, actor="t")
    reader, writer = caller_with("campaigns:read"), caller_with("campaigns:write")
    [listed] = reader.get(f"{URL}/journeys").json()
    assert (listed["code"], listed["status"], listed["version"], listed["holdout_percent"]) == (
        "welcome", "draft", 1, "0.00")
    one = reader.get(f"{URL}/journeys/welcome")
    assert one.status_code == 200
    assert one.json()["steps"] == [{"id": "pause", "kind": "wait", "title": "", "waiting": 0, "passed": 0}]
    assert one.json()["visits"] == {"entered": 0, "inside": 0, "done": 0, "exited": 0, "held_out_journey": 0,
                                    "held_out_control_group": 0}
    assert one.json()["graph"]["steps"]["pause"]["days"] == 3

    refused = reader.post(f"{URL}/journeys/welcome/start", key="s-0")
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    for number, (action, status) in enumerate([("start", "live"), ("pause", "paused"), ("resume", "live"),
                                               ("finish", "finished")]):
        moved = writer.post(f"{URL}/journeys/welcome/{action}", key=f"m-{number}")
        assert (moved.status_code, moved.json()["status"]) == (200, status), moved.json()
    assert Journey.objects.get().updated_by == "apikey:test-key-1"
    conflict = writer.post(f"{URL}/journeys/welcome/resume", key="m-9")
    assert (conflict.status_code, conflict.json()["code"]) == (409, "journey_status_conflict")
    assert conflict.json()["details"] == {"status": "finished", "action": "resume"}
    assert Journey.objects.get().status == "finished"
    missing = writer.post(f"{URL}/journeys/nobody/start", key="m-10")
    assert (missing.status_code, missing.json()["code"]) == (404, "journey_not_found")
    assert reader.get(f"{URL}/journeys/nobody").status_code == 404


# Mailings


@pytest.fixture
def marketing(db):
    ProgrammeSettings.objects.create(pk=ProgrammeSettings.SINGLETON, public_url="https://bonus.example.ru",
                                     quiet_hours="", marketing_cap_messages=2, marketing_cap_days=7)
    programme.forget()
    save_template(code="spring-a", actor="t", name="Весна A", channel="email", purpose="marketing",
                  subject_ru="Весна!", body_ru="Скидки: https://shop.example.ru/spring")


def test_a_mailing_is_read_with_its_progress_and_its_results_per_group(caller_with, marketing):
    buyer = members.create_member(actor="t", last_name="Иванова", email="anna@example.ru")
    members.set_consent(member_id=buyer.pk, channel="email", granted=True, source="form", actor="t")
    mailing = mailings.save_mailing(actor="t", name="Весна", channel="email", conditions=None,
                                    holdout_percent=Decimal(0), rate_per_minute=None, attribution_days=7,
                                    variants=[Variant("spring-a", 100)])
    reader = caller_with("campaigns:read")
    [listed] = reader.get(f"{URL}/mailings").json()
    assert (listed["id"], listed["status"], listed["variants"]) == (
        mailing.pk, "draft", [{"label": "A", "template": "spring-a", "share": 100}])
    draft = reader.get(f"{URL}/mailings/{mailing.pk}").json()
    assert (draft["progress"]["status"], draft["progress"]["progress"]) == ("draft", 0)
    empty = reader.get(f"{URL}/mailings/{mailing.pk}/results").json()
    assert (empty["since"], [g["group"] for g in empty["groups"]]) == (None, ["A", "held_out", "programme_group"])

    now = clock.now()
    mailings.schedule(mailing.pk, now, actor="t")
    building.advance(now)
    assert deliver_queued(limit=10) == 1
    buy(buyer, clock.now(), "250.50")  # after the start, before now: within the window
    shown = reader.get(f"{URL}/mailings/{mailing.pk}").json()
    assert (shown["progress"]["written"], shown["progress"]["done"]) == (1, 1)
    groups = reader.get(f"{URL}/mailings/{mailing.pk}/results").json()["groups"]
    assert groups[0] == {"group": "A", "members": 1, "sent": 1, "delivered": 0, "opened": 0, "clicked": 0,
                         "converted": 1, "revenue": "250.50"}
    assert groups[1]["members"] == groups[2]["members"] == 0

    assert (reader.get(f"{URL}/mailings/{mailing.pk + 1}").json()["code"],
            reader.get(f"{URL}/mailings/{mailing.pk + 1}/results").status_code) == ("mailing_not_found", 404)
    assert caller_with("webhooks:write").get(f"{URL}/mailings").status_code == 403


def test_a_journeys_results_give_each_group_with_its_uplift_over_the_held_out(caller_with):
    from kopilka.communications.journeys.run import run_journeys
    from kopilka.communications.journeys.services import move_journey

    people = [members.create_member(actor="t", last_name=f"Участница {n}") for n in range(30)]
    create_journey(code="split", name="Разделение", trigger={"kind": "schedule", "at": clock.now().isoformat()},
                   graph={"start": "ab", "steps": {"ab": {"kind": "split", "paths": [
                       {"share": 50, "next": None}, {"share": 50, "next": None}]}}},
                   holdout_percent="30", actor="t")
    move_journey("split", "start", actor="t")
    run_journeys(clock.now())
    held = Journey.objects.get(code="split").states.filter(status="held_out").first()
    assert held is not None and len(people) == 30
    buy(held.member, clock.now(), "1500.00")

    reader = caller_with("campaigns:read")
    answer = reader.get(f"{URL}/journeys/split/results")
    assert answer.status_code == 200
    body = answer.json()
    groups = {g["group"]: g for g in body["groups"]}
    assert list(groups) == ["exposed", "ab:path-1:50", "ab:path-2:50", "held_out"]
    assert groups["exposed"]["members"] == groups["ab:path-1:50"]["members"] + groups["ab:path-2:50"]["members"]
    assert groups["exposed"]["members"] + groups["held_out"]["members"] == 30
    assert (groups["held_out"]["converted"], groups["held_out"]["revenue"], groups["held_out"]["uplift"]) == (
        1, "1500.00", None)
    assert groups["exposed"]["uplift"]["difference"] < 0 < groups["exposed"]["uplift"]["high"]
    assert (body["attribution_days"], body["holdout_percent"], body["programme_group"]) == (14, "30.00", 0)
    assert reader.get(f"{URL}/journeys/nobody/results").status_code == 404
    assert caller_with("members:read").get(f"{URL}/journeys/split/results").status_code == 403
