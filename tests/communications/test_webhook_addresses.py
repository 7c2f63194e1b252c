"""A webhook goes only to public addresses unless an administrator allows private ones: loopback, private,
link-local and other non-public addresses — given as such or behind a name — are refused with a clear error in
the person's language, and nothing is saved."""

import ipaddress

import pytest
from django.contrib.auth.models import Permission
from django.utils import translation

from kopilka.communications import webhook_addresses, webhook_endpoints
from kopilka.communications.models import Endpoint
from kopilka.core.errors import PermissionDenied, ValidationFailed

pytestmark = pytest.mark.django_db

REFUSED = ["http://127.0.0.1/hooks", "http://10.1.2.3/hooks", "http://172.16.0.1/hooks", "http://192.168.1.1/hooks",
           "http://169.254.169.254/latest", "http://[::1]/hooks", "http://[fe80::1]/hooks", "http://[fd00::1]/hooks",
           "http://[::ffff:127.0.0.1]/hooks", "http://100.64.0.1/hooks", "http://0.0.0.0/hooks",
           "http://localhost/hooks"]


@pytest.fixture
def admin(staff):
    return staff("administrator")


@pytest.fixture
def manager(staff):
    """Manages webhooks, but may not allow private addresses."""
    person = staff()
    person.user_permissions.add(Permission.objects.get(codename="manage_webhooks"))
    return person


@pytest.mark.parametrize("url", REFUSED)
def test_a_non_public_address_is_refused_and_nothing_is_saved(manager, url):
    with pytest.raises(ValidationFailed) as refused:
        webhook_endpoints.create_endpoint(manager, url=url, event_types=["member.created"])
    assert refused.value.code == "webhook_address_private" and refused.value.details["field"] == "url"
    assert not Endpoint.objects.exists()


def test_a_name_is_judged_by_every_address_it_resolves_to(manager, monkeypatch):
    monkeypatch.setattr(webhook_addresses, "resolve", lambda host, port: [
        ipaddress.ip_address("93.184.216.34"), ipaddress.ip_address("10.0.0.7")])
    with pytest.raises(ValidationFailed) as refused:
        webhook_endpoints.create_endpoint(manager, url="https://hooks.example.com/in", event_types=["order.paid"])
    assert refused.value.details["addresses"] == ["10.0.0.7"]
    monkeypatch.setattr(webhook_addresses, "resolve", lambda host, port: [ipaddress.ip_address("93.184.216.34")])
    endpoint, _secret = webhook_endpoints.create_endpoint(manager, url="https://hooks.example.com/in",
                                                          event_types=["order.paid"])
    assert endpoint.url == "https://hooks.example.com/in" and not endpoint.allow_private


@pytest.mark.parametrize("language, text", [
    ("en", "The webhook address localhost leads to a private or local address (127.0.0.1"),
    ("ru", "Адрес вебхука localhost ведёт на частный или локальный адрес (127.0.0.1"),
])
def test_the_refusal_speaks_the_persons_language(manager, language, text):
    with translation.override(language), pytest.raises(ValidationFailed) as refused:
        webhook_endpoints.create_endpoint(manager, url="http://localhost/hooks", event_types=["member.created"])
    assert str(refused.value.message).startswith(text)


def test_an_administrator_may_allow_private_addresses_and_nobody_else(admin, manager):
    with pytest.raises(PermissionDenied):
        webhook_endpoints.create_endpoint(manager, url="http://10.1.2.3/hooks", event_types=["member.created"],
                                          allow_private=True)
    assert not Endpoint.objects.exists()
    endpoint, _secret = webhook_endpoints.create_endpoint(admin, url="http://10.1.2.3/hooks",
                                                          event_types=["member.created"], allow_private=True)
    with pytest.raises(PermissionDenied):
        webhook_endpoints.change_endpoint(manager, endpoint.pk, url=endpoint.url, event_types=["member.created"],
                                          description="", is_enabled=True, allow_private=False)
    assert Endpoint.objects.get().allow_private
    with pytest.raises(PermissionDenied):  # another private address under the administrator's allowance
        webhook_endpoints.change_endpoint(manager, endpoint.pk, url="http://10.9.9.9/admin",
                                          event_types=["member.created"], description="", is_enabled=True,
                                          allow_private=True)
    assert Endpoint.objects.get().url == "http://10.1.2.3/hooks"
    webhook_endpoints.change_endpoint(manager, endpoint.pk, url=endpoint.url, event_types=["order.paid"],
                                      description="", is_enabled=True, allow_private=True)  # the address kept
    assert Endpoint.objects.get().event_types == ["order.paid"]


@pytest.mark.parametrize("url, code", [("ftp://example.com/x", "webhook_address_invalid"),
                                       ("hooks.example.com", "webhook_address_invalid"),
                                       ("http://no-such-host.invalid/x", "webhook_host_unknown")])
def test_an_address_that_is_not_a_web_address_is_refused(manager, url, code):
    with pytest.raises(ValidationFailed) as refused:
        webhook_endpoints.create_endpoint(manager, url=url, event_types=["member.created"])
    assert refused.value.code == code and not Endpoint.objects.exists()


def test_unknown_or_no_event_types_are_refused(admin):
    for types in ([], ["points.teleported"]):
        with pytest.raises(ValidationFailed) as refused:
            webhook_endpoints.create_endpoint(admin, url="http://127.0.0.1/h", event_types=types, allow_private=True)
        assert refused.value.code == "webhook_event_types"
    assert not Endpoint.objects.exists()
