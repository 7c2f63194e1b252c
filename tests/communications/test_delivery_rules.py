"""The delivery rules as the outbox keeps them: consent per channel, the frequency cap on marketing messages per
member and channel, quiet hours on the member's clock (marketing waits, transactional goes; a wait before the
first try takes nothing from the day of tries), and the rules held again right before the send."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from kopilka.communications import email, services
from kopilka.communications.models import Attempt, Message
from kopilka.core import programme
from kopilka.core.errors import ValidationFailed
from kopilka.core.models import ProgrammeSettings
from kopilka.customers import services as members
from kopilka.customers.models import Consent
from tests.communications.conftest import free_port

pytestmark = pytest.mark.django_db

MOSCOW = ZoneInfo("Europe/Moscow")
PUBLIC = "https://bonus.example.ru"


@pytest.fixture(autouse=True)
def _rules(db):
    ProgrammeSettings.objects.create(pk=ProgrammeSettings.SINGLETON, public_url=PUBLIC, quiet_hours="21:00-09:00",
                                     marketing_cap_messages=2, marketing_cap_days=7)
    programme.forget()


def member(region_code: str | None = None, **consents: bool):
    made = members.create_member(actor="t", last_name="Лебедева", email="lena@example.ru", phone="+79031234567",
                                 region_code=region_code)
    for channel, granted in consents.items():
        members.set_consent(member_id=made.pk, channel=channel, granted=granted, source="form", actor="t")
    return made


def send(who, number: int, *, channel: str = "email", purpose: str = "marketing") -> Message:
    return services.notify(who.pk, kind="mailing", source=f"m:{number}", subject="Весна", body="Скидки",
                           channel=channel, purpose=purpose)


def at(moments, hour: int, minute: int = 0, day: int = 1) -> None:
    moments.now = datetime(2026, 6, day, hour, minute, tzinfo=MOSCOW)


def test_the_cap_skips_the_third_marketing_message_in_seven_days_per_channel(moments, smtp):
    at(moments, 12)
    lena = member(email=True, sms=True)
    first, second, third = (send(lena, n) for n in (1, 2, 3))
    assert [m.status for m in (first, second)] == ["queued", "queued"]
    assert (third.status, third.skip_reason) == ("skipped", "frequency_cap")
    assert send(lena, 4, channel="sms").status == "queued"  # another channel has its own cap
    assert send(lena, 5, purpose="transactional").status == "queued"  # notices are not capped, nor counted
    moments.advance(days=7, seconds=1)
    assert send(lena, 6).status == "queued"  # the first two are older than the period now


def test_skipped_and_failed_messages_do_not_count_against_the_cap(moments):
    at(moments, 12)
    lena = member(email=True)
    send(lena, 1)
    Message.objects.update(status=Message.Status.FAILED)
    assert send(lena, 2).status == send(lena, 3).status == "queued"
    assert send(lena, 4).skip_reason == "frequency_cap"


def test_a_marketing_message_due_at_night_waits_until_nine_and_a_notice_goes_at_once(moments, smtp):
    at(moments, 22, 30)
    lena = member(email=True)
    mailing = send(lena, 1)
    notice = send(lena, 2, purpose="transactional")
    assert mailing.next_try_at == datetime(2026, 6, 2, 9, 0, tzinfo=MOSCOW) and notice.next_try_at is None
    assert services.deliver_queued() == 1 and [m["Message-ID"] for _to, m in smtp.received] == [
        email.message_id(notice)]
    assert Message.objects.get(pk=notice.pk).status == "sent"
    at(moments, 8, 59, day=2)
    assert services.deliver_queued() == 0
    at(moments, 9, 0, day=2)
    assert services.deliver_queued() == 1
    assert Message.objects.get(pk=mailing.pk).attempts == 1


def test_quiet_hours_are_the_members_own_in_their_region(moments):
    """20:00 in Moscow is 03:00 in Primorye: the member there waits until 09:00 their time, 02:00 in Moscow."""
    at(moments, 20)
    far_east, moscow = member("25", email=True), member("77", email=True)
    assert send(far_east, 1).next_try_at == datetime(2026, 6, 2, 2, 0, tzinfo=MOSCOW)
    assert send(moscow, 2).next_try_at is None


def test_a_retry_that_falls_into_quiet_hours_waits_without_a_try(moments, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2  # nobody listens
    at(moments, 20, 59)
    lena = member(email=True)
    send(lena, 1)
    assert services.deliver_queued() == 0
    at(moments, 21, 0)
    assert services.deliver_queued() == 0
    message = Message.objects.get()
    assert (message.attempts, message.next_try_at, message.leased_by) == (
        1, datetime(2026, 6, 2, 9, 0, tzinfo=MOSCOW), "")
    assert Attempt.objects.count() == 1


def test_a_wait_for_quiet_hours_before_the_first_try_takes_nothing_from_the_day_of_tries(moments, settings):
    """Recorded at 20:30, held at 21:00 until 09:00, failing from its first try then: it is still tried at 20:03 the
    next day, waits out the night without a try and fails at 09:00 after — a day of tries, not twelve hours."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2  # nobody listens
    at(moments, 20, 30)
    send(member(email=True), 1)
    at(moments, 21, 0)
    assert services.deliver_queued() == 0 and Message.objects.get().attempts == 0

    while (message := Message.objects.get()).status == Message.Status.QUEUED:
        moments.now = message.next_try_at
        services.deliver_queued()

    tried = [moment.astimezone(MOSCOW) for moment in Attempt.objects.values_list("started_at", flat=True)]
    first, last = datetime(2026, 6, 2, 9, 0, tzinfo=MOSCOW), datetime(2026, 6, 3, 9, 0, tzinfo=MOSCOW)
    assert tried[0] == first and tried[-2] == datetime(2026, 6, 2, 20, 3, tzinfo=MOSCOW)
    assert tried[-1] == last == first + services.RETRY_FOR
    assert (message.status, message.attempts, len(tried)) == ("failed", 18, 18)


def test_a_consent_withdrawn_while_the_message_waits_skips_it(moments, smtp):
    at(moments, 12)
    lena = member(email=True)
    send(lena, 1, purpose="transactional")
    members.set_consent(member_id=lena.pk, channel="email", granted=False, source="call centre", actor="t")
    assert services.deliver_queued() == 0 and smtp.received == []
    message = Message.objects.get()
    assert (message.status, message.skip_reason, message.attempts) == ("skipped", "unsubscribed", 0)


def test_marketing_email_is_refused_without_the_public_address_and_nothing_is_recorded(moments):
    ProgrammeSettings.objects.update(public_url="")
    programme.forget()
    lena = member(email=True)
    with pytest.raises(ValidationFailed) as refused:
        send(lena, 1)
    assert refused.value.code == "public_url_missing" and "KOPILKA_PUBLIC_URL" in str(refused.value.message)
    assert not Message.objects.exists()
    assert send(lena, 2, purpose="transactional").status == "queued"  # a notice carries no unsubscribe link
    assert send(lena, 3, channel="sms").status == "skipped"  # no SMS consent: skipped, not refused


def test_an_unknown_channel_is_refused(moments):
    with pytest.raises(ValidationFailed):
        send(member(email=True), 1, channel="pigeon")
    assert not Message.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_marketing_messages_recorded_at_once_respect_the_cap(moments):
    from tests.concurrency import run_at_once

    at(moments, 12)
    lena = member(email=True)
    made = run_at_once(6, lambda number: send(lena, number).status)
    assert sorted(made) == ["queued", "queued", "skipped", "skipped", "skipped", "skipped"]
    assert Consent.objects.filter(member=lena).count() == 1
