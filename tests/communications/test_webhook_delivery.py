"""Webhooks reach a real receiver on loopback that checks them with the `standardwebhooks` package: signed with
every secret in use during a rotation, tried again on the schedule (a controllable clock) or at Retry-After with
the same webhook-id, disabled by 410 Gone or by three days of failures (the administrator gets an e-mail), never
sent to an address that has become private, never redirected, replayed with the same webhook-id. The worker
writes its reasons and errors in the programme's language (Russian by default)."""

import ipaddress
import json
from datetime import timedelta
from email.utils import format_datetime

import pytest
from django.core import mail

from kopilka.communications import webhook_addresses, webhook_delivery, webhook_endpoints, webhook_retries
from kopilka.communications.models import Delivery, DeliveryAttempt, Endpoint
from kopilka.communications.webhook_delivery import deliver_due, deliver_webhooks, dispatch_events
from kopilka.core import clock
from kopilka.customers import services as members
from tests.concurrency import run_at_once

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(staff):
    return staff("administrator", email="admin@example.ru")


@pytest.fixture
def steady(monkeypatch):
    """No jitter: the schedule's pauses exactly."""
    monkeypatch.setattr(webhook_retries, "jitter", lambda: 1.0)


def endpoint_for(receiver, admin, *types: str) -> Endpoint:
    endpoint, secret = webhook_endpoints.create_endpoint(admin, url=receiver.url, allow_private=True,
                                                         event_types=list(types or ["member.created"]))
    receiver.secrets.append(secret)
    return endpoint


def new_member(name: str = "Соколова"):
    return members.create_member(actor="t", last_name=name)


def test_an_event_reaches_the_receiver_signed_and_in_the_standard_shape(receiver, admin, moments):
    endpoint = endpoint_for(receiver, admin, "member.created")
    anna = new_member()
    assert deliver_webhooks() == 1 and deliver_webhooks() == 0
    [request] = receiver.received
    delivery = Delivery.objects.get()
    assert request.verified_with == receiver.secrets and request.path == "/hooks"
    assert request.headers["webhook-id"] == f"msg_{delivery.uid.hex}"
    assert request.headers["webhook-timestamp"] == str(int(moments.now.timestamp()))
    assert request.headers["content-type"] == "application/json"
    assert request.json == {"type": "member.created", "timestamp": delivery.event.occurred_at.isoformat(
                                timespec="milliseconds").replace("+00:00", "Z"),
                            "data": {"member_id": anna.pk, "kind": "individual", "status": "active"}}
    assert delivery.status == Delivery.Status.DELIVERED and delivery.attempts == 1
    [attempt] = DeliveryAttempt.objects.all()
    assert (attempt.status_code, attempt.response, attempt.error) == (200, "ok", "")
    assert Endpoint.objects.get(pk=endpoint.pk).failing_since is None


def test_only_subscribed_enabled_endpoints_get_an_event(receiver, admin):
    endpoint_for(receiver, admin, "order.paid")
    new_member()
    assert deliver_webhooks() == 0 and not receiver.received and not Delivery.objects.exists()


def test_during_a_rotation_both_secrets_sign_then_the_old_one_retires(receiver, admin, moments):
    endpoint = endpoint_for(receiver, admin)
    old = receiver.secrets[0]
    new = webhook_endpoints.rotate_secret(admin, endpoint.pk)
    receiver.secrets.append(new)
    new_member("Петрова")
    deliver_webhooks()
    [during] = receiver.received
    assert len(during.headers["webhook-signature"].split(" ")) == 2 and during.verified_with == [old, new]

    moments.advance(hours=24, seconds=1)
    new_member("Орлова")
    deliver_webhooks()
    after = receiver.received[-1]
    assert len(after.headers["webhook-signature"].split(" ")) == 1 and after.verified_with == [new]


def test_old_secrets_may_be_retired_at_once(receiver, admin):
    endpoint = endpoint_for(receiver, admin)
    new = webhook_endpoints.rotate_secret(admin, endpoint.pk)
    assert webhook_endpoints.retire_old_secrets(admin, endpoint.pk) == 1
    assert [s.secret for s in webhook_endpoints.in_use(endpoint)] == [new]


def test_a_failing_receiver_is_tried_on_the_schedule_for_three_days_with_one_webhook_id(
        receiver, admin, moments, steady, smtp):
    endpoint = endpoint_for(receiver, admin)
    receiver.answer(*[(500, {}, "down")] * 20)
    new_member()
    start = moments.now
    tried_at = []
    for _ in range(20):
        deliver_webhooks()
        delivery = Delivery.objects.get()
        tried_at.append(moments.now - start)
        if delivery.next_try_at is None:
            break
        moments.now = delivery.next_try_at
    assert tried_at == [timedelta(0), timedelta(seconds=5), timedelta(minutes=5, seconds=5),
                        timedelta(minutes=35, seconds=5), *[timedelta(hours=h, minutes=35, seconds=5)
                                                            for h in (2, 7, 17, 27, 37, 47, 57, 67)]]
    assert delivery.status == Delivery.Status.FAILED and delivery.attempts == 12
    assert {request.headers["webhook-id"] for request in receiver.received} == {delivery.webhook_id}
    assert [a.status_code for a in DeliveryAttempt.objects.order_by("id")] == [500] * 12

    endpoint.refresh_from_db()
    assert not endpoint.is_enabled and endpoint.disabled_reason == "Все попытки в течение 72 часов были неудачными."
    [notice] = smtp.received
    assert notice[0] == ["admin@example.ru"] and endpoint.url in notice[1].get_payload(decode=True).decode()


def test_jitter_keeps_each_pause_within_a_fifth_of_the_schedule():
    pauses = [webhook_retries.pause(3) for _ in range(200)]
    assert all(timedelta(minutes=24) <= p <= timedelta(minutes=36) for p in pauses) and len(set(pauses)) > 1
    assert webhook_retries.pause(40) <= timedelta(hours=12)


def test_a_delivered_request_ends_the_endpoints_failing_streak(receiver, admin, moments, steady):
    endpoint = endpoint_for(receiver, admin)
    receiver.answer((500, {}, "down"))
    new_member()
    deliver_webhooks()
    delivery = Delivery.objects.get()
    assert Endpoint.objects.get(pk=endpoint.pk).failing_since == DeliveryAttempt.objects.get().started_at
    moments.now = delivery.next_try_at
    new_member("Петрова")
    receiver.answer((500, {}, "down"))  # the first delivery's second try fails, the new one's first arrives
    deliver_webhooks()
    assert [d.status for d in Delivery.objects.order_by("id")] == ["pending", "delivered"]
    assert Endpoint.objects.get(pk=endpoint.pk).failing_since is None


@pytest.mark.parametrize("header, wait", [("120", timedelta(seconds=120)), ("date", timedelta(hours=3))])
def test_retry_after_sets_the_next_try(receiver, admin, moments, steady, header, wait):
    endpoint_for(receiver, admin)
    if header == "date":
        header = format_datetime(moments.now.replace(microsecond=0) + wait, usegmt=True)
        moments.now = moments.now.replace(microsecond=0)
    receiver.answer((503, {"Retry-After": header}, "busy"))
    new_member()
    deliver_webhooks()
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.PENDING and delivery.next_try_at == moments.now + wait
    moments.now += wait - timedelta(seconds=1)
    deliver_webhooks()
    assert len(receiver.received) == 1
    moments.advance(seconds=1)
    deliver_webhooks()
    assert len(receiver.received) == 2 and Delivery.objects.get().status == Delivery.Status.DELIVERED


def test_410_gone_disables_the_endpoint_at_once_and_tells_the_administrator(receiver, admin, smtp):
    endpoint = endpoint_for(receiver, admin)
    receiver.answer((410, {}, "gone"))
    new_member()
    deliver_webhooks()
    endpoint.refresh_from_db()
    assert not endpoint.is_enabled and endpoint.disabled_reason == "Получатель ответил 410 Gone."
    assert Delivery.objects.get().status == Delivery.Status.FAILED
    assert len(smtp.received) == 1
    new_member("Петрова")
    assert deliver_webhooks() == 0 and len(receiver.received) == 1 and Delivery.objects.count() == 1


def test_a_redirect_is_not_followed(receiver, admin):
    endpoint_for(receiver, admin)
    receiver.answer((302, {"Location": "http://169.254.169.254/latest"}, ""))
    new_member()
    deliver_webhooks()
    [attempt] = DeliveryAttempt.objects.all()
    assert attempt.status_code == 302
    assert attempt.error == "Перенаправление на http://169.254.169.254/latest не выполнено."
    assert len(receiver.received) == 1 and Delivery.objects.get().status == Delivery.Status.PENDING


def test_a_receiver_that_does_not_answer_in_time_is_cut_off_and_tried_again(receiver, admin, monkeypatch):
    monkeypatch.setattr(webhook_delivery, "SEND_LIMIT", timedelta(seconds=0.5))
    endpoint_for(receiver, admin)
    receiver.stall = 2
    new_member()
    deliver_webhooks()
    [attempt] = DeliveryAttempt.objects.all()
    assert attempt.status_code is None and attempt.error == "Нет ответа за 0.5 с." and attempt.duration_ms < 1500
    assert Delivery.objects.get().status == Delivery.Status.PENDING


def test_a_host_that_turns_private_after_it_was_saved_is_not_sent_to(receiver, admin, monkeypatch):
    resolved = {"now": [ipaddress.ip_address("93.184.216.34")]}
    monkeypatch.setattr(webhook_addresses, "resolve", lambda host, port: resolved["now"])
    endpoint, _secret = webhook_endpoints.create_endpoint(admin, url=f"http://hooks.example.com:{receiver.port}/h",
                                                          event_types=["member.created"])
    resolved["now"] = [ipaddress.ip_address("127.0.0.1")]
    new_member()
    deliver_webhooks()
    [attempt] = DeliveryAttempt.objects.all()
    assert attempt.status_code is None and "127.0.0.1" in attempt.error and not receiver.received
    assert Delivery.objects.get().status == Delivery.Status.PENDING and Endpoint.objects.get().pk == endpoint.pk


def test_a_replay_sends_the_same_webhook_id_again(receiver, admin):
    endpoint_for(receiver, admin)
    new_member()
    deliver_webhooks()
    delivery = Delivery.objects.get()
    webhook_endpoints.replay(admin, delivery.pk)
    assert deliver_webhooks() == 1
    first, again = receiver.received
    assert first.headers["webhook-id"] == again.headers["webhook-id"] == delivery.webhook_id
    assert first.body == again.body and Delivery.objects.get().attempts == 1  # tries of the replay's window
    assert DeliveryAttempt.objects.filter(delivery=delivery).count() == 2


def test_a_test_event_goes_to_that_endpoint_alone(receiver, admin):
    endpoint = endpoint_for(receiver, admin)
    other = endpoint_for(receiver, admin)
    webhook_endpoints.send_test_event(admin, endpoint.pk)
    assert deliver_webhooks() == 1
    [request] = receiver.received
    assert json.loads(request.body)["type"] == "webhook.test" and Delivery.objects.get().endpoint_id == endpoint.pk
    assert not Delivery.objects.filter(endpoint=other).exists()


def test_the_delivery_runs_in_the_worker_schedule():
    from kopilka.runtime.schedule import SCHEDULE

    assert [job.name for job in SCHEDULE if job.name == "deliver_webhooks"] == ["deliver_webhooks"]
    assert clock.now() is not None
    assert mail.outbox == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_overlapping_workers_send_each_delivery_once(receiver, django_user_model):
    endpoint_for(receiver, django_user_model.objects.create_superuser("root", password="pw"))
    for n in range(24):
        new_member(f"Участник {n}")
    dispatch_events()
    delivered = run_at_once(4, lambda _i: deliver_due())
    assert sum(delivered) == 24 and len(receiver.received) == 24
    assert len({request.headers["webhook-id"] for request in receiver.received}) == 24
    assert DeliveryAttempt.objects.count() == 24
