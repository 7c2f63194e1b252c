"""The monthly plan against fact, hand-counted: a mechanic's segment as it stood on the month's first moment and who
of it bought in the month; the members' purchases by weekday and hour on the programme's clock; the hours whose
mailing sends led to opens and purchases. And the plan keeps at most three mechanics a month."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from kopilka.campaigns.events import record_event
from kopilka.communications.mailings import building
from kopilka.communications.mailings import services as mailings
from kopilka.communications.mailings.models import MailingRecipient, MessageEvent
from kopilka.communications.monthly_plan import facts, services
from kopilka.communications.monthly_plan.models import PlanMechanic
from kopilka.communications.services import deliver_queued
from kopilka.core import programme
from kopilka.core.errors import ValidationFailed
from kopilka.core.models import AuditEvent, ProgrammeSettings
from kopilka.customers.models import Member
from kopilka.orders.models import Order
from tests import factories
from tests.analytics.programmes import buy
from tests.communications.mailings.conftest import _programme, draft, member  # noqa: F401 - the programme fixture

pytestmark = pytest.mark.django_db

MOSCOW = ZoneInfo("Europe/Moscow")
JUNE = date(2026, 6, 1)


def moscow(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 6, day, hour, minute, tzinfo=MOSCOW)


def mechanic(**changes) -> PlanMechanic:
    fields = {"title": "Весна", "goal": "Вернуть ушедших", "conditions": None, "kind": "text", "campaign": None,
              "mailing": None, "description": "Письмо со скидкой", "communication": "e-mail",
              "budget": Decimal("10000.00"), "budget_used_entered": Decimal("2500.50"),
              "target_conversion": Decimal("5.00"), **changes}
    return services.save_mechanic(month=JUNE, actor="t", **fields)


def registered(name: str, day: date) -> Member:
    made = member(name)
    Member.objects.filter(pk=made.pk).update(registered_at=datetime(day.year, day.month, day.day, tzinfo=MOSCOW))
    made.refresh_from_db()
    return made


def test_a_mechanics_conversion_counts_its_segment_on_the_first_of_the_month(moments):
    moments.now = moscow(20, 12)
    anna, boris, _vera = (registered(n, date(2026, 5, 1)) for n in ("Анна", "Борис", "Вера"))
    late = registered("Глеб", date(2026, 6, 10))  # joined in the month: not in the segment of its first day
    buy(anna, moscow(2, 10), "1000")
    buy(anna, moscow(3, 10), "500")  # twice: one member
    buy(boris, moscow(5, 10), "700", status=Order.Status.CANCELLED)
    buy(boris, datetime(2026, 5, 31, 23, 59, tzinfo=MOSCOW), "700")  # May
    buy(late, moscow(11, 10), "300")

    found = facts.fact(mechanic())
    assert (found.members, found.converted, found.conversion, found.budget_used) == (3, 1, 1 / 3, Decimal("2500.50"))
    assert facts.fact(mechanic(title="Юрлица", conditions={"type": "member_kind", "kind": "legal_entity"})
                      ).members == 0


def test_activity_is_counted_by_weekday_and_hour_on_the_programmes_clock(moments):
    moments.now = moscow(30, 23)
    anna, boris = member("Анна"), member("Борис")
    buy(anna, moscow(1, 12, 30), "100")  # Monday 12:xx
    buy(boris, moscow(1, 12, 59), "100")
    buy(anna, moscow(3, 19, 5), "100")  # Wednesday 19:xx
    buy(anna, moscow(7, 0, 10), "100")  # Sunday 00:xx (Saturday 21:10 UTC)
    buy(boris, moscow(1, 12, 40), "100", status=Order.Status.RETURNED)
    buy(None, moscow(1, 12, 45), "100")  # not a member
    buy(anna, datetime(2026, 7, 1, 0, 5, tzinfo=MOSCOW), "100")  # July

    grid = facts.activity(JUNE)
    counted = {(day, hour): n for day, row in enumerate(grid) for hour, n in enumerate(row) if n}
    assert counted == {(0, 12): 2, (2, 19): 1, (6, 0): 1}


def test_the_best_sending_hours_are_those_whose_sends_led_to_purchases_then_opens(moments, smtp):
    anna, boris, vera = (member(n, email=True) for n in ("Анна", "Борис", "Вера"))
    moments.now = moscow(1, 10)
    morning = draft(name="Утро")
    mailings.schedule(morning.pk, moments.now, actor="t")
    building.advance(moments.now)
    deliver_queued()  # three sent at 10:00
    opened = MailingRecipient.objects.get(mailing=morning, member=anna).message
    MessageEvent.objects.create(message=opened, kind="open", at=moments.now)
    moments.now = moscow(2, 18)
    evening = draft(name="Вечер", days=2)
    mailings.schedule(evening.pk, moments.now, actor="t")
    building.advance(moments.now)
    deliver_queued()  # three sent at 18:00
    buy(vera, moscow(3, 9), "100")  # within 2 days of the evening's send (and 7 of the morning's)
    buy(boris, moscow(6, 9), "100")  # within 7 days of the morning's only
    moments.now = moscow(30, 12)

    hours = {h.hour: (h.sent, h.opened, h.bought) for h in facts.sending_hours(JUNE) if h.sent}
    assert hours == {10: (3, 1, 2), 18: (3, 0, 1)}
    assert facts.best_hours(facts.sending_hours(JUNE)) == [10, 18]


def test_a_month_holds_at_most_three_mechanics_and_a_wrong_one_changes_nothing():
    for n in range(3):
        mechanic(title=f"Механика {n}")
    before = (list(PlanMechanic.objects.values_list("position", "title")), AuditEvent.objects.count())
    with pytest.raises(ValidationFailed) as full:
        mechanic(title="Четвёртая")
    assert full.value.code == "plan_full"
    with pytest.raises(ValidationFailed) as wrong:
        services.save_mechanic(month=JUNE, position=1, actor="t", title="", goal="", conditions=None,
                               kind="campaign", campaign=None, mailing=None, description="", communication="",
                               budget=Decimal("-1"), budget_used_entered=None, target_conversion=Decimal(120))
    assert sorted(wrong.value.details["fields"]) == ["budget", "campaign", "goal", "target_conversion", "title"]
    assert (list(PlanMechanic.objects.values_list("position", "title")), AuditEvent.objects.count()) == before
    assert before[0] == [(1, "Механика 0"), (2, "Механика 1"), (3, "Механика 2")]


def test_a_campaigns_budget_used_is_its_points_granted_in_the_month_at_the_point_value(moments):
    ProgrammeSettings.objects.update(point_value=Decimal("0.50"))
    programme.forget()
    moments.now = moscow(15, 12)
    campaign = factories.live_campaign("june", {"accrual": {"reward": "fixed", "points": 250, "scenario": "event",
                                                             "event_types": ["review"]}}, since=moscow(1, 0))
    anna = member("Анна")
    record_event(member_id=anna.pk, type="review", key="review-1", actor="site", occurred_at=moscow(10, 12))
    record_event(member_id=anna.pk, type="review", key="review-2", actor="site", occurred_at=moscow(12, 12))

    found = facts.fact(mechanic(kind="campaign", campaign=campaign, budget_used_entered=None))
    assert found.budget_used == Decimal("250.00")  # 500 points at 0.50 ₽
