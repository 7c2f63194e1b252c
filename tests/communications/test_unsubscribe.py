"""Every marketing e-mail carries an unsubscribe link and the RFC 8058 one-click headers; the signed link names the
member and the channel, and a POST to it — a mail client's one-click request or the page's button — withdraws that
consent at once, recorded with its source; the next message is skipped."""

from email.header import decode_header, make_header

import pytest
from django.test import Client

from kopilka.communications import services, unsubscribe
from kopilka.communications.models import Message
from kopilka.core import programme
from kopilka.core.models import AuditEvent, ProgrammeSettings
from kopilka.customers import services as members
from kopilka.customers.models import Consent
from kopilka.customers.selectors import consents_in_force

pytestmark = pytest.mark.django_db

PUBLIC = "https://bonus.example.ru"


@pytest.fixture
def lena(db):
    ProgrammeSettings.objects.create(pk=ProgrammeSettings.SINGLETON, public_url=PUBLIC, quiet_hours="00:00-00:00")
    programme.forget()
    made = members.create_member(actor="t", last_name="Лебедева", email="lena@example.ru")
    members.set_consent(member_id=made.pk, channel="email", granted=True, source="registration form", actor="t")
    return made


def mailing(who, number: int, purpose: str = "marketing") -> Message:
    return services.notify(who.pk, kind="mailing", source=f"m:{number}", subject="Весенние бонусы",
                           body="Двойные бонусы до конца недели.", purpose=purpose)


def consent_to_email(who) -> Consent:
    return consents_in_force([who.pk])[who.pk]["email"]


def unfolded(header: str) -> str:
    """A header as its reader sees it: a long one is folded onto the next line (RFC 5322 §2.2.3)."""
    return header.replace("\r\n", "").strip()


def test_a_marketing_email_carries_the_one_click_headers_and_one_post_unsubscribes(lena, smtp):
    link = f"{PUBLIC}/u/{unsubscribe.token(lena.pk, 'email')}/"
    mailing(lena, 1)
    assert services.deliver_queued() == 1

    [(_to, mail)] = smtp.received
    assert unfolded(mail["List-Unsubscribe"]) == f"<{link}>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link in mail.get_payload(decode=True).decode()

    answer = Client().post(link.removeprefix(PUBLIC), "List-Unsubscribe=One-Click",
                           content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 200
    withdrawn = consent_to_email(lena)
    assert (withdrawn.granted, withdrawn.source) == (False, "unsubscribe link")
    assert AuditEvent.objects.filter(action="member.consent", member_id=lena.pk, actor=f"member:{lena.pk}").exists()

    after = mailing(lena, 2)
    assert (after.status, after.skip_reason) == ("skipped", "unsubscribed")
    assert services.deliver_queued() == 0 and len(smtp.received) == 1


def test_a_notice_carries_no_unsubscribe_headers(lena, smtp):
    mailing(lena, 1, purpose="transactional")
    services.deliver_queued()
    [(_to, mail)] = smtp.received
    assert mail["List-Unsubscribe"] is None and mail["List-Unsubscribe-Post"] is None
    assert str(make_header(decode_header(mail["Subject"]))) == "Весенние бонусы"


@pytest.mark.parametrize(("language", "asks", "button", "done"), [
    ("ru", "Отказаться от писем бонусной программы?", "Отписаться", "Вы отписались"),
    ("en", "Stop e-mail messages from the bonus programme?", "Unsubscribe", "You have unsubscribed"),
])
def test_the_page_asks_in_the_members_language_and_its_button_unsubscribes_once(lena, language, asks, button, done):
    browser = Client(HTTP_ACCEPT_LANGUAGE=language)
    address = f"/u/{unsubscribe.token(lena.pk, 'email')}/"
    page = browser.get(address).content.decode()
    assert asks in page and f">{button}</button>" in page
    assert consent_to_email(lena).granted, "looking at the page changes nothing"

    assert done in browser.post(address).content.decode()
    assert done in browser.post(address).content.decode()
    assert [c.granted for c in Consent.objects.filter(member=lena).order_by("id")] == [True, False]


@pytest.mark.parametrize("forged", [lambda who: "nonsense", lambda who: unsubscribe.token(who.pk, "email") + "x"])
def test_a_link_not_made_here_is_refused_and_changes_nothing(lena, forged):
    token = forged(lena)
    answer = Client(HTTP_ACCEPT_LANGUAGE="en").post(f"/u/{token}/")
    assert answer.status_code == 404 and "This unsubscribe link is not valid" in answer.content.decode()
    assert consent_to_email(lena).granted and Consent.objects.filter(member=lena).count() == 1


def test_the_token_names_the_member_and_the_channel():
    assert unsubscribe.read(unsubscribe.token(42, "sms")) == unsubscribe.Subscription(member_id=42, channel="sms")
