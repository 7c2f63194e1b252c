"""Notices to members go out over a real SMTP server (aiosmtpd on loopback): once per notice, only with an address
and e-mail consent, retried while the server is down, then marked failed; claimed by one worker at a time, every
try recorded, one Message-ID for all tries of a message."""

import socket
from datetime import timedelta
from email import message_from_bytes
from email.header import decode_header, make_header

import pytest
from aiosmtpd.controller import Controller

from kopilka.communications import services
from kopilka.communications.models import Attempt, Message
from kopilka.core import clock
from kopilka.customers import services as members
from kopilka.customers.models import Consent
from tests.concurrency import run_at_once

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


def _ids(inbox) -> list[str]:
    return [mail["Message-ID"] for _to, mail in inbox.received]


def test_a_worker_that_dies_after_sending_leaves_a_repeat_with_the_same_message_id(smtp, monkeypatch):
    """The server accepted the message but the worker died before recording it: the claim holds the message until
    its lease runs out, then it is sent again under the same Message-ID, and both tries are on record."""
    anna = member_with("anna@example.ru", consent=True)
    services.notify(anna.pk, kind="compensation", source="c:4", subject="s", body="b")

    def killed(*args, **kwargs):
        raise SystemExit("worker killed")

    with monkeypatch.context() as patch:
        patch.setattr(services, "_record", killed)
        with pytest.raises(SystemExit):
            services.deliver_queued()
    assert len(smtp.received) == 1
    assert services.deliver_queued() == 0, "the dead worker's claim still holds the message"
    later = clock.now() + services.lease() + timedelta(seconds=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert services.deliver_queued() == 1
    first, second = _ids(smtp)
    assert first == second == services.message_id(Message.objects.get())
    message = Message.objects.get()
    assert message.status == Message.Status.SENT and message.attempts == 1
    assert [(t.outcome, t.finished_at is None) for t in Attempt.objects.order_by("id")] == [("", True), ("sent", False)]


def test_every_try_is_recorded_with_its_error(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", _free_port(), 2
    anna = member_with("anna@example.ru", consent=True)
    services.notify(anna.pk, kind="compensation", source="c:5", subject="s", body="b")
    services.deliver_queued()
    services.deliver_queued()
    tries = list(Attempt.objects.order_by("id"))
    assert [t.outcome for t in tries] == ["failed", "failed"] and all(t.error and t.finished_at for t in tries)
    assert Message.objects.get().leased_by == ""


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # its flush must not re-run post_migrate
def test_overlapping_workers_send_each_message_once(smtp):
    anna = member_with("anna@example.ru", consent=True)
    for number in range(60):
        services.notify(anna.pk, kind="compensation", source=f"c:{number}", subject=f"{number}", body="b")
    sent = run_at_once(3, lambda _worker: services.deliver_queued())
    ids = _ids(smtp)
    assert sum(sent) == 60 and len(ids) == 60 and len(set(ids)) == 60
    assert not Message.objects.exclude(status=Message.Status.SENT).exists()
    assert Attempt.objects.count() == 60
