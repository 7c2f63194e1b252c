"""Notices to members go out over a real SMTP server (aiosmtpd on loopback): once per notice, only with an address
and e-mail consent, retried while the server is down, then marked failed."""

import socket
from email import message_from_bytes
from email.header import decode_header, make_header

import pytest
from aiosmtpd.controller import Controller

from kopilka.communications import services
from kopilka.communications.models import Message
from kopilka.core import clock
from kopilka.customers import services as members
from kopilka.customers.models import Consent

pytestmark = pytest.mark.django_db


class Inbox:
    """An SMTP handler that keeps every message it is sent."""

    def __init__(self):
        self.received = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.received.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(settings):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    yield inbox
    controller.stop()


def member_with(email: str, consent: bool | None):
    member = members.create_member(last_name="Соколова", email=email)
    if consent is not None:
        Consent.objects.create(member=member, channel="email", granted=consent, decided_at=clock.now())
    return member


def test_a_notice_is_sent_once_over_smtp(smtp):
    anna = member_with("anna@example.ru", consent=True)
    first = services.notify(anna.pk, kind="compensation", source="compensation:1", subject="100 баллов",
                            body="Начислено 100 баллов.")
    again = services.notify(anna.pk, kind="compensation", source="compensation:1", subject="100 баллов",
                            body="Начислено 100 баллов.")
    assert first.pk == again.pk and first.status == Message.Status.QUEUED
    assert services.deliver_queued() == 1 and services.deliver_queued() == 0
    [(recipients, mail)] = smtp.received
    assert recipients == ["anna@example.ru"] and str(make_header(decode_header(mail["Subject"]))) == "100 баллов"
    assert Message.objects.get().status == Message.Status.SENT


@pytest.mark.parametrize("email, consent", [("", True), ("anna@example.ru", None), ("anna@example.ru", False)])
def test_without_an_address_or_consent_nothing_is_sent(smtp, email, consent):
    anna = member_with(email, consent)
    message = services.notify(anna.pk, kind="compensation", source="c:2", subject="s", body="b")
    assert message.status == Message.Status.SKIPPED
    assert services.deliver_queued() == 0 and not smtp.received


def test_while_the_server_is_down_a_message_waits_then_fails(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", _free_port(), 2
    anna = member_with("anna@example.ru", consent=True)
    services.notify(anna.pk, kind="compensation", source="c:3", subject="s", body="b")
    for attempt in range(1, services.MAX_ATTEMPTS + 1):
        assert services.deliver_queued() == 0
        message = Message.objects.get()
        assert message.attempts == attempt and message.error
    assert message.status == Message.Status.FAILED


def test_a_granted_compensation_notifies_the_member_and_the_card_shows_it(smtp, staff):
    from django.test import Client

    from kopilka.backoffice import compensation

    anna = member_with("anna@example.ru", consent=True)
    compensation.request(staff("support"), key="k-1", member_id=anna.pk, points=200, reason_code="goodwill",
                         comment="Задержка доставки")
    services.deliver_queued()
    [(_to, mail)] = smtp.received
    assert "200" in str(make_header(decode_header(mail["Subject"])))
    assert "Задержка доставки" in mail.get_payload(decode=True).decode()
    client = Client(HTTP_ACCEPT_LANGUAGE="ru")
    client.force_login(staff("support"))
    card = client.get(f"/office/members/{anna.pk}/").content.decode()
    assert "Отправленные сообщения" in card and "отправлено" in card
