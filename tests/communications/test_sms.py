"""SMS go through the generic HTTP adapter to a fake provider on loopback: the request is shaped as the provider's
settings say (JSON, form or query; token header or basic auth; our message id as the client reference), the
answer says whether it was taken and under which id, and the provider's delivery reports move the message to
delivered or failed. Phones go out in E.164; a member whose phone is not one is skipped."""

import base64
import threading
import time
from datetime import timedelta

import httpx
import pytest

from kopilka.communications import reports, services, sms
from kopilka.communications.models import Attempt, Message, SmsProvider
from kopilka.core import clock
from kopilka.customers import services as members
from kopilka.customers.models import Consent, Member

pytestmark = pytest.mark.django_db

SECRET = "report-secret-42"


def configure(fake, **fields) -> SmsProvider:
    """The provider's settings as an administrator saves them, pointed at the fake provider."""
    settings = {"name": "Fake SMS", "url": fake.url, "reference_field": "client_ref", "auth": "header",
                "auth_header": "Authorization", "auth_secret": "Bearer sms-token", "success_field": "status",
                "success_value": "ok", "id_field": "result.0.id",
                "report_secret_digest": reports.digest(SECRET), **fields}
    return SmsProvider.objects.create(pk=SmsProvider.SINGLETON, **settings)


def member_with_phone(phone: str = "+79161234567", consent: bool | None = True) -> Member:
    member = members.create_member(actor="t", last_name="Орлова", phone="+79161234567")
    Member.objects.filter(pk=member.pk).update(phone=phone)  # as an old import may have left it
    if consent is not None:
        Consent.objects.create(member=member, channel="sms", granted=consent, decided_at=clock.now(), source="t")
    return member


def text_to(member: Member, source: str = "n:1", body: str = "Начислено 100 бонусов") -> Message:
    return services.notify(member.pk, kind="accrual", source=source, subject="", body=body, channel="sms")


def accepted(call) -> dict:
    return {"status": "ok", "result": [{"id": f"p-{len(call.fields) or len(call.query)}"}]}


def test_an_sms_goes_as_json_with_our_id_as_client_reference_and_keeps_the_providers_id(provider):
    configure(provider, sender_field="from", sender="Kopilka", extra_fields={"channel": "sms"})
    provider.answer = {"status": "ok", "result": [{"id": "prov-777"}]}
    message = text_to(member_with_phone("8 916 123-45-67"))
    assert message.status == Message.Status.QUEUED and message.to == "+79161234567"

    assert services.deliver_queued() == 1

    [call] = provider.calls
    assert call.method == "POST" and call.path == "/api/send"
    assert call.headers["Authorization"] == "Bearer sms-token"
    assert call.fields == {"channel": "sms", "to": "+79161234567", "text": "Начислено 100 бонусов",
                           "from": "Kopilka", "client_ref": str(message.uid)}
    message.refresh_from_db()
    assert (message.status, message.provider_id, message.attempts) == (Message.Status.SENT, "prov-777", 1)


def test_form_fields_with_basic_auth(provider):
    configure(provider, body_format="form", auth="basic", auth_user="shop", auth_secret="pa:ss", to_field="phones",
              text_field="mes", success_field="", id_field="")
    message = text_to(member_with_phone())
    assert services.deliver_queued() == 1
    [call] = provider.calls
    assert call.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert call.headers["Authorization"] == "Basic " + base64.b64encode(b"shop:pa:ss").decode()
    assert call.fields == {"phones": "+79161234567", "mes": "Начислено 100 бонусов", "client_ref": str(message.uid)}
    message.refresh_from_db()
    assert (message.status, message.provider_id) == (Message.Status.SENT, "")


def test_a_get_provider_takes_the_fields_in_the_query(provider):
    configure(provider, method="GET", auth="none", extra_fields={"login": "shop"})
    provider.answer = accepted
    text_to(member_with_phone())
    assert services.deliver_queued() == 1
    [call] = provider.calls
    assert call.method == "GET" and call.fields == {} and "Authorization" not in call.headers
    assert call.query["login"] == "shop" and call.query["to"] == "+79161234567"


def test_an_answer_that_refuses_is_a_failed_try_and_the_next_try_keeps_the_client_reference(provider, moments):
    configure(provider)
    provider.answer = {"status": "error", "error": "no money on the account"}
    message = text_to(member_with_phone())
    assert services.deliver_queued() == 0
    message.refresh_from_db()
    assert message.status == Message.Status.QUEUED and message.attempts == 1
    assert message.error.startswith("not accepted:") and "no money on the account" in message.error

    provider.status, provider.answer = 500, {"error": "down"}
    moments.advance(minutes=1)
    assert services.deliver_queued() == 0
    assert Message.objects.get().error.startswith("HTTP 500")

    provider.status, provider.answer = 200, {"status": "ok", "result": [{"id": "prov-1"}]}
    moments.advance(minutes=2)
    assert services.deliver_queued() == 1
    assert [call.fields["client_ref"] for call in provider.calls] == [str(message.uid)] * 3
    assert [t.outcome for t in Attempt.objects.order_by("id")] == ["failed", "failed", "sent"]
    assert Message.objects.get().provider_id == "prov-1"


def test_without_a_provider_the_try_fails_and_says_so(db):
    text_to(member_with_phone())
    assert services.deliver_queued() == 0
    message = Message.objects.get()
    assert message.status == Message.Status.QUEUED and message.error == "no SMS provider is configured"


@pytest.mark.parametrize(("phone", "consent", "reason"), [
    ("", True, "no_address"), ("12345", True, "not_a_phone"), ("+79161234567", None, "no_consent"),
    ("+79161234567", False, "unsubscribed"),
])
def test_a_member_without_a_phone_or_sms_consent_is_skipped_with_the_reason(provider, phone, consent, reason):
    configure(provider)
    message = text_to(member_with_phone(phone, consent))
    assert (message.status, message.skip_reason) == (Message.Status.SKIPPED, reason)
    assert services.deliver_queued() == 0 and provider.calls == []


def test_a_slow_provider_is_cut_off_before_the_claim_runs_out(provider, settings):
    """Every byte of the answer comes within the timeout, the whole answer does not: the send is cut off at
    `send_limit()` and the message waits for its next try."""
    settings.EMAIL_TIMEOUT = 0.2
    configure(provider, timeout_seconds=1)
    provider.answer, provider.slow = {"status": "ok", "result": [{"id": "x" * 50}]}, 0.1
    text_to(member_with_phone())
    started = time.monotonic()
    assert services.deliver_queued() == 0
    assert 2.0 <= time.monotonic() - started < 5.0
    message = Message.objects.get()
    assert message.status == Message.Status.QUEUED and message.error.startswith("cut off")


def report(client, body, *, secret: str = SECRET, as_form: bool = False):
    if as_form:
        return client.post(f"/channels/sms/reports?secret={secret}", body)
    return client.post("/channels/sms/reports", body, content_type="application/json",
                       HTTP_AUTHORIZATION=f"Bearer {secret}")


def sent_sms(provider) -> Message:
    configure(provider, report_error_field="err")
    provider.answer = {"status": "ok", "result": [{"id": "prov-9"}]}
    text_to(member_with_phone())
    services.deliver_queued()
    return Message.objects.get()


def test_a_delivery_report_marks_the_message_delivered(provider, client, moments):
    message = sent_sms(provider)
    moments.advance(seconds=30)
    answer = report(client, {"id": "prov-9", "status": "DELIVERED"})
    assert answer.status_code == 200
    assert answer.json() == {"messages": [{"id": str(message.uid), "status": "delivered"}]}
    message.refresh_from_db()
    assert (message.status, message.delivered_at) == (Message.Status.DELIVERED, moments.now)


def test_a_report_of_no_delivery_fails_the_message_with_the_providers_words(provider, client):
    message = sent_sms(provider)
    assert report(client, {"id": "prov-9", "status": "undelivered", "err": "absent subscriber"},
                  as_form=True).status_code == 200
    message.refresh_from_db()
    assert message.status == Message.Status.FAILED and message.error == "not delivered: undelivered (absent subscriber)"
    assert report(client, [{"id": "prov-9", "status": "delivered"}]).json()["messages"][0]["status"] == "delivered"


def test_a_report_on_the_way_changes_nothing(provider, client):
    message = sent_sms(provider)
    assert report(client, {"id": "prov-9", "status": "enroute"}).json()["messages"][0]["status"] == "sent"
    assert Message.objects.get().status == Message.Status.SENT == message.status


def test_a_report_may_name_our_id(provider, client):
    message = sent_sms(provider)
    SmsProvider.objects.update(report_id="ours", report_id_field="data.ref", report_status_field="data.state")
    assert report(client, {"data": {"ref": str(message.uid), "state": "delivered"}}).status_code == 200
    assert Message.objects.get().status == Message.Status.DELIVERED


@pytest.mark.parametrize(("body", "secret", "status", "code"), [
    ({"id": "prov-9", "status": "delivered"}, "wrong", 403, "bad_report_secret"),
    ({"id": "prov-9", "status": "delivered"}, "", 403, "bad_report_secret"),
    ({"id": "prov-404", "status": "delivered"}, SECRET, 404, "message_not_found"),
    ({"status": "delivered"}, SECRET, 422, "bad_report"),
    ([], SECRET, 422, "bad_report"),
])
def test_a_report_with_a_wrong_secret_or_naming_no_message_is_refused_and_changes_nothing(
        provider, client, body, secret, status, code):
    message = sent_sms(provider)
    answer = report(client, body, secret=secret)
    assert (answer.status_code, answer.json()["code"]) == (status, code)
    assert Message.objects.get().status == Message.Status.SENT == message.status


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # its flush must not re-run post_migrate
def test_the_provider_reports_delivery_to_the_live_platform(provider, live_server, settings):
    """The fake provider, once it has taken a message, calls the platform's report address over HTTP, as a real
    one does a little later."""
    configure(provider)
    reported = threading.Event()

    def take_and_report(call):
        def later():
            httpx.post(f"{live_server.url}/channels/sms/reports", params={"secret": SECRET},
                       json={"id": "prov-live", "status": "delivered"}, timeout=10)
            reported.set()

        threading.Timer(0.2, later).start()
        return {"status": "ok", "result": [{"id": "prov-live"}]}

    provider.answer = take_and_report
    text_to(member_with_phone())
    assert services.deliver_queued() == 1
    assert reported.wait(10)
    message = Message.objects.get()
    assert (message.status, message.provider_id) == (Message.Status.DELIVERED, "prov-live")
    assert message.delivered_at - message.sent_at < timedelta(seconds=10)


def test_the_request_is_built_without_sending_anything(db):
    """`request_for` is pure: the adapter's shape can be checked without a provider."""
    config = SmsProvider(name="p", url="https://sms.example/send", to_field="phone", text_field="msg",
                         reference_field="", auth="none")
    message = Message(to="+79161234567", body="Привет")
    request = sms.request_for(config, message)
    assert (request.method, str(request.url)) == ("POST", "https://sms.example/send")
    assert request.content.decode() == '{"phone":"+79161234567","msg":"Привет"}'
