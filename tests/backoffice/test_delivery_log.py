"""The delivery log: every channel's messages, filtered by channel, status and member, each with its tries."""

import pytest
from django.test import Client

from kopilka.communications import services
from kopilka.communications.models import Attempt, Message
from kopilka.core import clock
from kopilka.customers import services as members

pytestmark = pytest.mark.django_db


@pytest.fixture
def support(staff):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(staff("support"))
    return client


def test_the_log_filters_by_channel_status_and_member_and_a_message_shows_its_tries(support):
    anna = members.create_member(actor="t", last_name="Соколова", email="anna@example.ru", phone="+79161234567")
    boris = members.create_member(actor="t", last_name="Волков", email="boris@example.ru")
    for channel in ("sms", "email"):
        members.set_consent(member_id=anna.pk, channel=channel, granted=True, source="form", actor="t")
    texted = services.notify(anna.pk, kind="accrual", source="a:1", subject="", body="100 бонусов", channel="sms")
    mailed = services.notify(anna.pk, kind="accrual", source="a:2", subject="Бонусы", body="100 бонусов")
    skipped = services.notify(boris.pk, kind="accrual", source="a:3", subject="Бонусы", body="100 бонусов")
    Attempt.objects.create(message=texted, worker="w1", started_at=clock.now(), finished_at=clock.now(),
                           outcome="failed", error="HTTP 503: try later")

    def rows(query: str) -> list[str]:
        page = support.get(f"/office/messages/{query}").content.decode()
        return sorted(m for m in (str(texted.pk), str(mailed.pk), str(skipped.pk)) if f'data-message="{m}"' in page)

    assert rows("") == sorted([str(texted.pk), str(mailed.pk), str(skipped.pk)])
    assert rows("?channel=sms") == [str(texted.pk)]
    assert rows("?status=skipped") == [str(skipped.pk)]
    assert rows(f"?member={anna.pk}") == sorted([str(texted.pk), str(mailed.pk)])
    assert "skipped: no consent" in support.get(f"/office/messages/?member={boris.pk}").content.decode()

    page = support.get(f"/office/messages/{texted.pk}/").content.decode()
    assert str(texted.uid) in page and "+79161234567" in page and "HTTP 503: try later" in page
    assert Message.objects.count() == 3


def test_a_bad_filter_shows_everything_and_says_why(support):
    page = support.get("/office/messages/?member=abc&channel=pigeon")
    assert page.status_code == 200 and "Select a valid choice" in page.content.decode()


def test_an_analyst_does_not_read_the_log(staff):
    analyst = Client()
    analyst.force_login(staff("analyst"))
    assert analyst.get("/office/messages/").status_code == 403
