"""A mailing's messages go through the outbox: each filled for its member right before its send, links made
trackable and an open pixel in the HTML part; the pixel and the redirects record what the reader did, a forged
token goes nowhere; the mailing is sent when nothing of it is queued. Over real SMTP."""

from datetime import timedelta
from email.header import decode_header, make_header
from urllib.parse import urlsplit

import pytest
from django.test import Client

from kopilka.communications import unsubscribe
from kopilka.communications.mailings import building
from kopilka.communications.mailings import services as mailings
from kopilka.communications.mailings.models import Mailing, MessageEvent
from kopilka.communications.models import Message, SmsProvider
from kopilka.communications.services import deliver_queued
from tests.communications.mailings.conftest import PUBLIC, draft, member

pytestmark = pytest.mark.django_db


def parts(mail) -> tuple[str, str]:
    text, html = (part.get_payload(decode=True).decode().replace("\r\n", "\n")
                  for part in mail.walk() if not part.is_multipart())
    return text, html


def test_a_sent_mailing_is_filled_per_member_tracked_and_finished(moments, smtp):
    anna = member("Анна", email=True)
    mailing = draft(rate=1)
    mailings.schedule(mailing.pk, moments.now, actor="t")
    building.advance(moments.now)
    member("Борис", email=True)  # joined after the start: not in it

    assert deliver_queued() == 1
    (to, mail), = smtp.received
    text, html = parts(mail)
    assert to == [anna.email] and str(make_header(decode_header(mail["Subject"]))) == "Анна, весна!"
    link = text.split("Скидки: ", 1)[1].split("\n", 1)[0]
    assert link.startswith(f"{PUBLIC}/t/c/") and link.endswith("/.")  # the sentence's full stop stays outside
    assert text.endswith(f"{PUBLIC}/u/{unsubscribe.token(anna.pk, 'email')}/")
    pixel = html.split('<img src="', 1)[1].split('"', 1)[0]
    assert pixel.startswith(f"{PUBLIC}/t/o/")

    reader = Client()
    assert reader.get(urlsplit(pixel).path)["Content-Type"] == "image/gif"
    followed = reader.get(urlsplit(link[:-1]).path)
    assert (followed.status_code, followed["Location"]) == (302, "https://shop.example.ru/spring?a=1")
    message = Message.objects.get(kind="mass_mailing")
    assert sorted(MessageEvent.objects.filter(message=message).values_list("kind", "url")) == [
        ("click", "https://shop.example.ru/spring?a=1"), ("open", "")]

    assert building.advance(moments.now)["finished"] == 1
    assert Mailing.objects.get(pk=mailing.pk).status == "sent"


def test_a_token_not_made_here_is_a_404_and_records_nothing(moments, smtp):
    member("Анна", email=True)
    mailings.schedule(draft().pk, moments.now, actor="t")
    building.advance(moments.now)
    deliver_queued()
    (_to, mail), = smtp.received
    link = parts(mail)[0].split("Скидки: ", 1)[1].split("/.", 1)[0] + "/"
    token = urlsplit(link).path.split("/")[3]
    forged = token[:-3] + ("abc" if not token.endswith("abc") else "xyz")
    reader = Client()
    assert reader.get(f"/t/c/{forged}/").status_code == 404
    assert reader.get("/t/c/eyJ1IjoiaHR0cHM6Ly9ldmlsLmV4YW1wbGUifQ/").status_code == 404
    assert reader.get("/t/o/nonsense.gif").status_code == 404
    assert not MessageEvent.objects.exists()


def test_the_rate_holds_the_second_message_back_a_minute(moments, smtp):
    first, second = member("Анна", email=True), member("Вера", email=True)
    mailings.schedule(draft(rate=1).pk, moments.now, actor="t")
    building.advance(moments.now)

    assert deliver_queued() == 1
    moments.advance(minutes=1)
    assert deliver_queued() == 1
    assert [to for (to,), _mail in smtp.received] == [first.email, second.email]


def test_an_sms_mailing_is_filled_without_tracking(moments, provider):
    SmsProvider.objects.create(pk=SmsProvider.SINGLETON, name="Fake", url=provider.url)
    anna = member("Анна", phone="+79161234567", sms=True)
    mailings.schedule(draft(channel="sms", variants=(("spring-sms", 100),)).pk, moments.now, actor="t")
    building.advance(moments.now)
    assert deliver_queued() == 1
    assert provider.calls[0].fields["text"] == "Анна, весна!"
    assert Message.objects.get(member=anna).to == "+79161234567"


def test_cancelled_and_not_yet_due_mailings_send_nothing(moments, smtp):
    member("Анна", email=True)
    cancelled = draft()
    mailings.schedule(cancelled.pk, moments.now + timedelta(minutes=1), actor="t")
    mailings.cancel(cancelled.pk, actor="t")
    moments.advance(minutes=2)
    assert building.advance(moments.now) == {"started": 0, "messages": 0, "finished": 0}
    assert deliver_queued() == 0 and smtp.received == []
