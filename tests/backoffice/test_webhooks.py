"""The back office's webhook pages: an administrator creates an endpoint (its secret shown once), changes it,
rotates its secret, sends a test event, reads the deliveries with their attempts and replays one; a refused change
says why in the person's language and changes nothing; "allow private addresses" is the administrator's alone."""

import re

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from kopilka.communications import webhook_endpoints
from kopilka.communications.models import Delivery, Endpoint
from kopilka.communications.webhook_delivery import deliver_webhooks
from kopilka.core.models import AuditEvent
from kopilka.customers import services as members

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(staff):
    return staff("administrator")


def signed_in(user, language: str = "en") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


def form(**fields) -> dict:
    return {"url": "http://127.0.0.1:9/hooks", "description": "CRM", "event_types": ["member.created"],
            "is_enabled": "on", "allow_private": "on", **fields}


def secret_on(page: str) -> str | None:
    found = re.search(r"<code data-secret>(whsec_[A-Za-z0-9+/=]+)</code>", page)
    return found.group(1) if found else None


def test_a_new_endpoint_shows_its_secret_once(admin):
    client = signed_in(admin)
    answer = client.post("/office/webhooks/new/", form())
    endpoint = Endpoint.objects.get()
    assert answer["Location"] == f"/office/webhooks/{endpoint.pk}/"
    first = client.get(answer["Location"]).content.decode()
    assert secret_on(first) == endpoint.secrets.get().secret
    assert secret_on(client.get(answer["Location"]).content.decode()) is None
    assert (endpoint.url, endpoint.description, endpoint.event_types, endpoint.allow_private) == (
        "http://127.0.0.1:9/hooks", "CRM", ["member.created"], True)
    assert AuditEvent.objects.filter(action="webhook.created", target=f"communications.endpoint:{endpoint.pk}").exists()


def test_an_existing_endpoint_is_changed_and_shown_changed(admin):
    endpoint, _secret = webhook_endpoints.create_endpoint(admin, url="http://127.0.0.1:9/hooks", allow_private=True,
                                                          event_types=["member.created"])
    client = signed_in(admin)
    answer = client.post(f"/office/webhooks/{endpoint.pk}/", form(description="Рассылки",
                                                                   event_types=["member.created", "order.paid"]))
    assert answer.status_code == 302
    page = client.get(f"/office/webhooks/{endpoint.pk}/").content.decode()
    assert 'value="Рассылки"' in page and 'value="order.paid" id="id_event_types_2" checked' in page
    assert Endpoint.objects.get().event_types == ["member.created", "order.paid"]
    assert AuditEvent.objects.get(action="webhook.changed").details == {"fields": ["description", "event_types"]}


@pytest.mark.parametrize("language, words", [
    ("en", "leads to a private or local address (10.0.0.5)"),
    ("ru", "ведёт на частный или локальный адрес (10.0.0.5)"),
])
def test_a_private_address_without_the_flag_is_refused_in_the_persons_language(admin, language, words):
    endpoint, _secret = webhook_endpoints.create_endpoint(admin, url="http://127.0.0.1:9/hooks", allow_private=True,
                                                          event_types=["member.created"])
    client = signed_in(admin, language)
    answer = client.post(f"/office/webhooks/{endpoint.pk}/", form(url="http://10.0.0.5/hooks", allow_private=""))
    assert answer.status_code == 200 and words in answer.content.decode()
    assert Endpoint.objects.get().url == "http://127.0.0.1:9/hooks" and Endpoint.objects.get().allow_private
    assert not AuditEvent.objects.filter(action="webhook.changed").exists()


def test_only_an_administrator_changes_the_private_addresses_flag(admin, staff):
    manager = staff()
    manager.user_permissions.add(Permission.objects.get(codename="manage_webhooks"))
    endpoint, _secret = webhook_endpoints.create_endpoint(admin, url="http://127.0.0.1:9/hooks", allow_private=True,
                                                          event_types=["member.created"])
    client = signed_in(manager)
    page = client.get(f"/office/webhooks/{endpoint.pk}/").content.decode()
    assert re.search(r'name="allow_private"[^>]*disabled', page)
    client.post(f"/office/webhooks/{endpoint.pk}/", form(description="Changed", allow_private=""))
    endpoint.refresh_from_db()
    assert endpoint.description == "Changed" and endpoint.allow_private  # the posted "off" is not taken
    answer = client.post("/office/webhooks/new/", form())
    assert answer.status_code == 200 and Endpoint.objects.count() == 1
    assert "leads to a private or local address" in answer.content.decode()


def test_rotating_shows_the_new_secret_once_and_both_sign_meanwhile(admin):
    endpoint, old = webhook_endpoints.create_endpoint(admin, url="http://127.0.0.1:9/hooks", allow_private=True,
                                                      event_types=["member.created"])
    client = signed_in(admin)
    page = client.get(client.post(f"/office/webhooks/{endpoint.pk}/rotate/")["Location"]).content.decode()
    new = secret_on(page)
    assert new and new != old
    assert [s.secret for s in webhook_endpoints.in_use(endpoint)] == [old, new]
    client.post(f"/office/webhooks/{endpoint.pk}/retire/")
    assert [s.secret for s in webhook_endpoints.in_use(endpoint)] == [new]


def test_the_deliveries_page_shows_attempts_and_a_replay_queues_the_same_delivery(admin, receiver):
    endpoint, secret = webhook_endpoints.create_endpoint(admin, url=receiver.url, allow_private=True,
                                                         event_types=["member.created"])
    receiver.secrets.append(secret)
    receiver.answer((500, {}, "database is down"))
    members.create_member(actor="t", last_name="Соколова")
    deliver_webhooks()
    delivery = Delivery.objects.get()
    client = signed_in(admin)
    page = client.get(f"/office/webhooks/{endpoint.pk}/deliveries/").content.decode()
    assert delivery.webhook_id in page and "database is down" in page and "Ответ 500." in page

    client.post(f"/office/webhooks/{endpoint.pk}/test/")
    assert deliver_webhooks() == 1 and Delivery.objects.filter(event__type="webhook.test").get().status == "delivered"

    Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.FAILED, next_try_at=None)
    answer = client.post(f"/office/webhooks/deliveries/{delivery.pk}/replay/")
    assert answer["Location"] == f"/office/webhooks/{endpoint.pk}/deliveries/"
    assert deliver_webhooks() == 1
    assert [r.headers["webhook-id"] for r in receiver.received if r.json["type"] == "member.created"] == [
        delivery.webhook_id, delivery.webhook_id]


def test_a_disabled_endpoint_shows_why_on_its_pages(admin):
    endpoint, _secret = webhook_endpoints.create_endpoint(admin, url="http://127.0.0.1:9/hooks", allow_private=True,
                                                          event_types=["member.created"])
    Endpoint.objects.filter(pk=endpoint.pk).update(is_enabled=False, disabled_reason="The receiver answered 410 Gone.")
    client = signed_in(admin)
    for path in ("/office/webhooks/", f"/office/webhooks/{endpoint.pk}/"):
        assert "The receiver answered 410 Gone." in client.get(path).content.decode(), path
    answer = client.post(f"/office/webhooks/{endpoint.pk}/", form())
    assert answer.status_code == 302 and Endpoint.objects.get().is_enabled
    assert Endpoint.objects.get().disabled_reason == ""
