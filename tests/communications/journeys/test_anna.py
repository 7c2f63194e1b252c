"""The seeds' "Anna" scenario (SPEC §8.2) as it ships: made in one step with its message templates, run by the
worker on a clock the test moves, its messages sent to a real SMTP server — both ways of its branch."""

from datetime import timedelta
from email.header import decode_header, make_header

import pytest

from kopilka.communications import services as outbox
from kopilka.communications.journeys.blueprints import create_from_blueprint
from kopilka.communications.journeys.models import JourneyState
from kopilka.communications.journeys.services import move_journey
from kopilka.core import clock
from kopilka.ledger import services as ledger
from tests.analytics.programmes import buy
from tests.communications.journeys.conftest import member, run

pytestmark = pytest.mark.django_db


def subject(mail) -> str:
    return str(make_header(decode_header(mail["Subject"])))


def text(mail) -> str:
    return mail.get_payload(decode=True).decode()


@pytest.fixture
def anna(rules, noon):
    """Anna last bought 100 days ago; 1,000 of her bonuses burn at the end of 23 June."""
    anna = member("Анна", "anna@example.ru")
    buy(anna, clock.now() - timedelta(days=100), "14900")
    ledger.accrue(member_id=anna.pk, points=1000, actor="t", idempotency_key="anna-1",
                  expires_at=clock.end_of_day(clock.local_date(clock.now()) + timedelta(days=13)))
    create_from_blueprint("anna", code="anna", actor="marketer")
    move_journey("anna", "start", actor="marketer")
    return anna


def reminded(smtp, noon) -> None:
    """The first run lets Anna in and writes the reminder, which the outbox sends."""
    assert run().entered == 1
    assert outbox.deliver_queued() == 1
    [(to, mail)] = smtp.received
    assert to == ["anna@example.ru"]
    assert subject(mail) == "23.06 сгорят 1\xa0000 бонусов"
    assert text(mail).startswith("Анна, напоминаем: 23.06 сгорят 1\xa0000 бонусов. Потратьте их на следующую покупку.")
    assert "https://bonus.example.ru/u/" in text(mail)


def test_anna_orders_after_the_reminder_and_gets_the_selection(anna, smtp, noon):
    reminded(smtp, noon)
    noon.advance(days=1)
    buy(anna, clock.now(), "3200")
    noon.advance(days=2, minutes=-1)
    run()
    assert outbox.deliver_queued() == 0  # three days have not passed yet
    noon.advance(minutes=1)
    run()
    assert outbox.deliver_queued() == 1
    assert subject(smtp.received[1][1]) == "Подборка к вашей покупке"
    visit = JourneyState.objects.get()
    assert (visit.status, list(visit.steps.order_by("id").values_list("step", "outcome"))) == (
        "done", [("remind", "sent"), ("wait", "waited"), ("ordered", "yes"), ("offer", "sent")])


def test_anna_does_not_order_and_is_reminded_with_another_offer(anna, smtp, noon):
    reminded(smtp, noon)
    noon.advance(days=3)
    run()
    assert outbox.deliver_queued() == 1
    assert subject(smtp.received[1][1]) == "Успейте потратить 1\xa0000 бонусов"
    visit = JourneyState.objects.get()
    assert list(visit.steps.order_by("id").values_list("step", "outcome")) == [
        ("remind", "sent"), ("wait", "waited"), ("ordered", "no"), ("remind-again", "sent")]
    noon.advance(days=30)
    assert run().entered == 0  # once per quiet spell: no new purchase, no new visit
