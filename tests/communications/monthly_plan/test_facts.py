"""The monthly plan against fact, hand-counted: a mechanic's segment as it stood on the month's first moment and who
of it bought in the month; a journey's members reached, messages sent, and who bought within its attribution window
after entering; the members' purchases by weekday and hour on the programme's clock; the hours whose mailing and
journey sends led to opens and purchases. And the plan keeps at most three mechanics a month, each linking the one
thing of its kind."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from kopilka.campaigns.events import record_event
from kopilka.communications.journeys.models import MESSAGE_KIND, Journey, JourneyState, message_source
from kopilka.communications.journeys.services import create_journey, move_journey
from kopilka.communications.mailings import building
from kopilka.communications.mailings import services as mailings
from kopilka.communications.mailings.models import MailingRecipient, MessageEvent
from kopilka.communications.models import Message
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
              "mailing": None, "journey": None, "description": "Письмо со скидкой", "communication": "e-mail",
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


PAUSE = {"start": "pause", "steps": {"pause": {"kind": "wait", "days": 1}}}


def live_journey(code: str, days: int) -> Journey:
    create_journey(code=code, name=f"Сценарий {code}", trigger={"kind": "event", "event": "order.paid"},
                   graph=PAUSE, reentry=True, attribution_days=days, actor="t")
    return move_journey(code, "start", actor="t")


def visit(journey: Journey, who: Member, entered: datetime, status: str = "done") -> JourneyState:
    return JourneyState.objects.create(
        journey=journey, version=journey.current_version(), member=who, entry_key=f"test:{entered.isoformat()}",
        status=status, held_out_by="journey" if status == "held_out" else "", step_since=entered, entered_at=entered)


def sent(state: JourneyState, at: datetime | None, step: str = "remind") -> Message:
    """The visit's message of step `step`, sent at `at` (None: skipped)."""
    return Message.objects.create(
        member=state.member, channel="email", purpose="marketing", kind=MESSAGE_KIND,
        source=message_source(state.pk, step), to="member@example.ru", subject="", body="",
        status="sent" if at else "skipped", skip_reason="" if at else "no_consent",
        created_at=at or state.entered_at, sent_at=at)


@pytest.fixture
def june_journey(moments):
    """A journey whose purchases count for 3 days, with June's visits, orders and messages (Moscow time):

    Анна   entered 2 June 10:00 and again 3 June 08:00; bought 3 June 12:00 (1000, in both windows: once),
           4 June 09:00 (500), cancelled on 4 June, bought 6 June 10:00 (700, past 5 June 10:00); sent 2 June 10:00
           and 3 June 08:00
    Борис  entered 10 June 12:00, waiting; bought 10 June 11:00 (before) and 14 June 12:00 (past the window); his
           message skipped; another journey (1 day) sent him one on 10 June 13:00
    Вера   held out on 5 June 10:00; bought 6 June 10:00
    Глеб   entered 30 May 10:00 (not June's); bought 1 June 15:00; sent 30 May 10:00 and 1 June 10:00
    Дина   entered 28 June 20:00; bought 1 July 10:00 (2000, in the window, past the month); sent 28 June 20:00 and
           opened it
    """
    moments.now = datetime(2026, 7, 2, 12, tzinfo=MOSCOW)
    sleepers, other = live_journey("sleepers", 3), live_journey("other", 1)
    anna, boris, vera, gleb, dina = (member(n) for n in ("Анна", "Борис", "Вера", "Глеб", "Дина"))
    sent(visit(sleepers, anna, moscow(2, 10)), moscow(2, 10))
    sent(visit(sleepers, anna, moscow(3, 8)), moscow(3, 8))
    buy(anna, moscow(3, 12), "1000")
    buy(anna, moscow(4, 9), "500")
    buy(anna, moscow(4, 10), "900", status=Order.Status.CANCELLED)
    buy(anna, moscow(6, 10), "700")
    sent(visit(sleepers, boris, moscow(10, 12), "waiting"), None)
    sent(visit(other, boris, moscow(10, 13)), moscow(10, 13))
    buy(boris, moscow(10, 11), "300")
    buy(boris, moscow(14, 12), "400")
    visit(sleepers, vera, moscow(5, 10), "held_out")
    buy(vera, moscow(6, 10), "800")
    may = datetime(2026, 5, 30, 10, tzinfo=MOSCOW)
    gleb_visit = visit(sleepers, gleb, may)
    sent(gleb_visit, may)
    sent(gleb_visit, moscow(1, 10), step="again")
    buy(gleb, moscow(1, 15), "600")
    opened = sent(visit(sleepers, dina, moscow(28, 20), "waiting"), moscow(28, 20))
    MessageEvent.objects.create(message=opened, kind="open", at=moscow(29, 9))
    buy(dina, datetime(2026, 7, 1, 10, tzinfo=MOSCOW), "2000")
    return sleepers


def test_a_journeys_fact_counts_whom_it_reached_its_messages_and_their_purchases_within_its_window(june_journey):
    found = facts.fact(mechanic(kind="journey", journey=june_journey, description=""))
    # reached: Анна, Борис, Дина (Вера held out, Глеб entered in May); sent: Анна's two, Дина's, Глеб's of 1 June;
    # bought in the window: Анна (1000 + 500) and Дина (2000)
    assert (found.members, found.sent, found.converted, found.conversion, found.revenue, found.budget_used) == (
        3, 4, 2, 2 / 3, Decimal("3500.00"), Decimal("2500.50"))


def test_a_journeys_messages_take_their_share_of_the_best_sending_hours_within_its_window(june_journey):
    hours = {h.hour: (h.sent, h.opened, h.bought) for h in facts.sending_hours(JUNE) if h.sent}
    # 08:00 Анна (bought 3 June); 10:00 Анна and Глеб (both bought within 3 days); 13:00 Борис by the other
    # journey (bought 4 days later, past its 1 day); 20:00 Дина (opened, bought 1 July)
    assert hours == {8: (1, 0, 1), 10: (2, 0, 2), 13: (1, 0, 0), 20: (1, 1, 1)}
    assert facts.best_hours(facts.sending_hours(JUNE)) == [20, 8, 10]


def test_a_journey_mechanic_links_its_journey_and_nothing_else(june_journey):
    with pytest.raises(ValidationFailed) as missing:
        mechanic(kind="journey", journey=None, description="")
    assert list(missing.value.details["fields"]) == ["journey"]
    spring = draft()
    linked = mechanic(kind="journey", journey=june_journey, mailing=spring)
    assert (linked.kind, linked.journey_id, linked.mailing_id) == ("journey", june_journey.pk, None)
    switched = services.save_mechanic(month=JUNE, position=linked.position, actor="t", **{
        **{name: getattr(linked, name) for name in services.FIELDS}, "kind": "mailing", "mailing": spring})
    assert (switched.kind, switched.journey_id, switched.mailing_id) == ("mailing", None, spring.pk)


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
                               kind="campaign", campaign=None, mailing=None, journey=None, description="",
                               communication="", budget=Decimal("-1"), budget_used_entered=None,
                               target_conversion=Decimal(120))
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
