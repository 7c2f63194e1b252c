"""Points about to burn: each morning one set-based read per burn day records one `points.expiring` event per member
and day, covering every lot whose last day it is; the burn notice and the webhooks are fed by those events."""

from datetime import date, timedelta

import pytest

from kopilka.communications import tasks
from kopilka.communications.expiring_points import record_expiring
from kopilka.communications.models import Delivery, Endpoint, Message
from kopilka.communications.notice_kinds import Kind
from kopilka.communications.webhook_delivery import dispatch_events
from kopilka.core import clock
from kopilka.core.models import OutboxEvent
from kopilka.ledger import services as ledger
from tests.communications.notice_helpers import NOON, reachable, read, switch_on, work
from tests.ledger.conftest import new_key

pytestmark = pytest.mark.django_db
TODAY = date(2026, 6, 16)  # NOON's day in Moscow


@pytest.fixture
def anna(moments):
    moments.now = NOON
    return reachable("Соколова", "anna@example.ru", first_name="Анна")


def lot(member, points: int, expires_at):
    ledger.accrue(member_id=member.pk, points=points, actor="t", idempotency_key=new_key(), expires_at=expires_at)


def expiring() -> list[tuple[str, dict]]:
    return [(e.key, e.payload) for e in OutboxEvent.objects.filter(type="points.expiring").order_by("id")]


def morning(moments, day: date) -> int:
    """The daily job on `day`, at noon (after the test's settings were made)."""
    moments.now = clock.start_of_day(day) + timedelta(hours=12)
    return tasks.points_expiring.call(moments.now.isoformat())


def test_the_lots_of_one_burn_day_make_one_notice_n_days_before(smtp, anna, moments):
    switch_on(Kind.POINTS_EXPIRING, days=3)
    last_day = date(2026, 6, 19)
    lot(anna, 100, clock.end_of_day(last_day))
    lot(anna, 150, clock.end_of_day(last_day) - timedelta(hours=5))
    lot(anna, 70, clock.end_of_day(last_day + timedelta(days=1)))
    boris = reachable("Волков", "boris@example.ru", first_name="Борис")
    lot(boris, 40, clock.end_of_day(last_day))

    assert morning(moments, TODAY) == 2 and morning(moments, TODAY) == 0
    assert [key for key, _payload in expiring()] == [f"points.expiring:{anna.pk}:2026-06-19",
                                                     f"points.expiring:{boris.pk}:2026-06-19"]
    assert expiring()[0][1] == {"member_id": anna.pk, "points": 250, "lots": 2, "last_day": "2026-06-19",
                                "burns_at": "2026-06-19T21:00:00Z"}
    assert work() == 2 and work() == 0
    assert read(smtp) == [
        ("anna@example.ru", "250 бонусов сгорят после 19.06",
         "Анна, 19.06.2026 — последний день, чтобы потратить 250 бонусов: потом они сгорят."),
        ("boris@example.ru", "40 бонусов сгорят после 19.06",
         "Борис, 19.06.2026 — последний день, чтобы потратить 40 бонусов: потом они сгорят."),
    ]
    assert Message.objects.get(member=anna).relevant_until == clock.end_of_day(last_day)

    assert morning(moments, TODAY + timedelta(days=1)) == 1 and work() == 1  # the next day's lot, the next morning
    assert read(smtp)[-1][1] == "70 бонусов сгорят после 20.06"


def test_points_reserved_by_a_hold_are_not_counted_as_burning(anna, moments):
    switch_on(Kind.POINTS_EXPIRING, days=3)
    lot(anna, 100, clock.end_of_day(date(2026, 6, 19)))
    ledger.hold(member_id=anna.pk, points=30, actor="t", idempotency_key=new_key())
    assert morning(moments, TODAY) == 1 and expiring()[0][1]["points"] == 70


def test_days_the_worker_missed_are_caught_up_and_none_is_read_twice(anna, moments):
    switch_on(Kind.POINTS_EXPIRING, days=3)
    for day in (19, 20, 21, 22):
        lot(anna, day, clock.end_of_day(date(2026, 6, day)))
    assert morning(moments, TODAY) == 1
    assert morning(moments, TODAY + timedelta(days=3)) == 3  # the 17th and 18th were missed
    assert [payload["points"] for _key, payload in expiring()] == [19, 20, 21, 22]
    assert record_expiring(TODAY + timedelta(days=3)) == 0


def test_the_burn_notice_is_too_late_once_the_points_have_burned(smtp, anna, moments):
    switch_on(Kind.POINTS_EXPIRING, days=3)
    lot(anna, 100, clock.end_of_day(date(2026, 6, 19)))
    morning(moments, TODAY)
    moments.now = clock.end_of_day(date(2026, 6, 19))  # the worker was down until the burn

    assert work() == 0 and not smtp.received
    assert Message.objects.values_list("status", "skip_reason").get() == ("skipped", "too_late")


def test_the_coming_burns_reach_the_webhooks_subscribed_to_them_with_the_notice_off(anna, moments):
    switch_on(Kind.POINTS_EXPIRING, days=3, on=False)
    lot(anna, 100, clock.end_of_day(date(2026, 6, 19)))
    endpoint = Endpoint.objects.create(url="https://crm.example.ru/hooks", event_types=["points.expiring"],
                                       created_at=clock.now(), updated_at=clock.now())
    morning(moments, TODAY)
    dispatch_events()
    assert work() == 0 and Message.objects.count() == 0
    assert [d.event.key for d in Delivery.objects.filter(endpoint=endpoint)] == [
        f"points.expiring:{anna.pk}:2026-06-19"]
