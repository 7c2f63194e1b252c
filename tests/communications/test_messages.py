"""Notices to members go out over a real SMTP server (aiosmtpd on loopback): once per notice, only with an address
and e-mail consent, tried again after growing pauses while the server is down, marked failed only when the retry
period is over; claimed by one worker at a time (a claim that runs out mid-chunk is not sent by its first worker,
a send that runs too long is cut off), every try recorded, one Message-ID for all tries of a message."""

import threading
import time
from datetime import timedelta
from email.header import decode_header, make_header

import pytest
from aiosmtpd.controller import Controller
from django.db import connection

from kopilka.communications import services
from kopilka.communications.models import Attempt, Message
from kopilka.core import clock
from kopilka.customers import services as members
from kopilka.customers.models import Consent
from tests.communications.servers import Inbox, free_port
from tests.concurrency import run_at_once

pytestmark = pytest.mark.django_db


def holding_for(seconds: float):
    until = time.monotonic() + seconds
    return lambda: time.monotonic() < until


def member_with(email: str, consent: bool | None):
    member = members.create_member(actor="t", last_name="Соколова", email=email)
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


def _server_down(settings) -> int:
    """Mail goes to a port nobody listens on; returns the port."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    return settings.EMAIL_PORT


def test_while_the_server_is_down_a_message_is_tried_after_growing_pauses_then_fails_a_day_later(settings, moments):
    """Pauses of 1, 2, 4 … minutes, at most an hour; after a day of failures the message is failed with the last
    error. Between its tries a message is left alone."""
    _server_down(settings)
    anna = member_with("anna@example.ru", consent=True)
    created = services.notify(anna.pk, kind="compensation", source="c:3", subject="s", body="b").created_at
    tried_at = []
    while (message := Message.objects.get()).status == Message.Status.QUEUED:
        if message.next_try_at is not None:
            moments.now = message.next_try_at - timedelta(seconds=1)
            assert services.deliver_queued() == 0 and Message.objects.get().attempts == message.attempts
            moments.now = message.next_try_at
        assert services.deliver_queued() == 0
        tried_at.append(round((moments.now - created) / timedelta(minutes=1)))
    pauses = [later - earlier for earlier, later in zip(tried_at, tried_at[1:], strict=False)]
    assert pauses[:8] == [1, 2, 4, 8, 16, 32, 60, 60] and set(pauses[6:]) == {60}
    assert tried_at[-1] == 63 + 22 * 60 and tried_at[-1] + 60 > 24 * 60  # no time left for another try
    assert message.status == Message.Status.FAILED and message.attempts == len(tried_at) == 29
    assert "refused" in message.error.lower() and message.leased_by == ""
    assert [t.outcome for t in Attempt.objects.all()] == ["failed"] * 29


def test_a_message_outlives_an_hour_without_the_server_and_goes_out_once(settings, moments):
    """The outbox runs every minute; the server is down for an hour, then up: the message is sent once, and its
    tries tell the story."""
    port = _server_down(settings)
    anna = member_with("anna@example.ru", consent=True)
    services.notify(anna.pk, kind="compensation", source="c:3", subject="s", body="b")
    for _minute in range(61):
        assert services.deliver_queued() == 0
        moments.advance(minutes=1)
    assert Message.objects.get().status == Message.Status.QUEUED and Message.objects.get().attempts == 6
    inbox = Inbox()
    server = Controller(inbox, hostname="127.0.0.1", port=port)
    server.start()
    try:
        sent = []
        for _minute in range(61):
            sent.append(services.deliver_queued())
            moments.advance(minutes=1)
    finally:
        server.stop()
    assert sum(sent) == 1 and len(inbox.received) == 1
    message = Message.objects.get()
    assert message.status == Message.Status.SENT and message.attempts == 7 and message.error == ""
    assert [t.outcome for t in Attempt.objects.all()] == ["failed"] * 6 + ["sent"]


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


def test_every_try_is_recorded_with_its_error(settings, moments):
    _server_down(settings)
    anna = member_with("anna@example.ru", consent=True)
    services.notify(anna.pk, kind="compensation", source="c:5", subject="s", body="b")
    services.deliver_queued()
    moments.advance(minutes=1)
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


def test_a_slow_but_live_server_is_cut_off_before_the_claim_runs_out(smtp, settings):
    """Every line of the server's answer comes within EMAIL_TIMEOUT, the whole answer does not: the send is cut off
    at `send_limit()`, well inside the claim, and the message waits for its next try."""
    settings.EMAIL_TIMEOUT = 0.2
    smtp.stall = lambda mail: holding_for(10)
    anna = member_with("anna@example.ru", consent=True)
    services.notify(anna.pk, kind="compensation", source="c:6", subject="s", body="b")
    started = time.monotonic()
    assert services.deliver_queued() == 0
    took = time.monotonic() - started
    assert services.send_limit().total_seconds() == 2.0 and 2.0 <= took < 5.0 < services.lease().total_seconds()
    assert smtp.stalled.is_set() and smtp.received == []
    message = Message.objects.get()
    [attempt] = Attempt.objects.all()
    assert message.status == Message.Status.QUEUED and message.attempts == 1 and message.leased_by == ""
    assert attempt.outcome == "failed" and "cut off" in attempt.error and message.error == attempt.error


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_claim_that_runs_out_mid_chunk_is_not_sent_by_its_first_worker(smtp, settings, moments):
    """Worker A claims three messages; the first takes half a lease, the second stalls until A's claim on the third
    has run out and worker B has taken and sent it. The second, claimed again before its send, stays A's; the third
    is not sent by A. Each goes out once."""
    settings.EMAIL_TIMEOUT = 2
    anna = member_with("anna@example.ru", consent=True)
    for number in (1, 2, 3):
        services.notify(anna.pk, kind="compensation", source=f"c:{number}", subject=f"{number}", body="b")
    claimed_at, release, held = moments.now, threading.Event(), []

    def stall(mail):
        if mail["Subject"] == "1":
            moments.now = claimed_at + services.lease() / 2
        if mail["Subject"] == "2" and not held:
            held.append(mail)
            return lambda: not release.is_set()
        return None

    smtp.stall = stall
    sent_by: list[tuple[str, int]] = []

    def worker_a_runs() -> None:
        try:
            sent_by.append(("A", services.deliver_queued()))
        finally:
            connection.close()

    worker_a = threading.Thread(target=worker_a_runs)
    worker_a.start()
    try:
        assert smtp.stalled.wait(timeout=20), "A reached the second message"
        moments.now = claimed_at + services.lease() + timedelta(seconds=1)
        sent_by.append(("B", services.deliver_queued()))
    finally:
        release.set()
        worker_a.join()
    subjects = [mail["Subject"] for _to, mail in smtp.received]
    assert sorted(subjects) == ["1", "2", "3"], subjects
    assert sorted(sent_by) == [("A", 2), ("B", 1)]
    assert not Message.objects.exclude(status=Message.Status.SENT).exists()
    assert [t.outcome for t in Attempt.objects.order_by("id")] == ["sent", "sent", "sent"]
