"""How members enter a journey: by an event read from the outbox or the member events (once per event, none from
before the journey went live), by no purchase for N days (once per quiet spell), by entering a segment, at a
moment or on their birthday; once unless re-entry is allowed, never twice at once; held out at entry by the
journey's holdout and the programme's control group, alike in Python and SQL."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from kopilka.campaigns.events import record_event
from kopilka.catalog import services as catalog
from kopilka.communications.journeys.entry import salt
from kopilka.communications.journeys.models import JourneyCursor, JourneyState
from kopilka.communications.journeys.services import create_journey, move_journey
from kopilka.core import clock, holdout
from kopilka.core.models import ProgrammeSettings
from kopilka.customers import services as members
from kopilka.customers.models import Tag
from kopilka.purchases import flow
from kopilka.purchases.quote import CartItem
from tests.analytics.programmes import buy
from tests.communications.journeys.conftest import member, run

pytestmark = pytest.mark.django_db
PAUSE = {"start": "pause", "steps": {"pause": {"kind": "wait", "days": 1}}}


def journey(trigger: dict, *, code: str = "j", reentry: bool = False, holdout_percent="0", graph=PAUSE):
    create_journey(code=code, name="Путь", trigger=trigger, graph=graph, reentry=reentry,
                   holdout_percent=holdout_percent, actor="t")
    return move_journey(code, "start", actor="t")


def visits(code: str = "j") -> list[tuple[int, str, str]]:
    return list(JourneyState.objects.filter(journey__code=code).order_by("id")
                .values_list("member_id", "status", "entry_key"))


def paid_order(who, external_id: str):
    catalog.upsert_products([{"sku": "HA-1", "name": "Филлер", "price": "10000"}])
    placed = flow.place_order(flow.NewOrder(source="pos", external_id=external_id, member_id=who.pk, items=[
        CartItem("HA-1", Decimal(1), Decimal(10000), Decimal(10000))]), actor="pos:1")
    return flow.pay(placed.pk, actor="pos:1")


def test_a_paid_order_lets_its_member_in_once_and_an_event_read_again_changes_nothing(noon):
    before = member("Вера")
    paid_order(before, "R-0")  # before the journey went live: enters nobody, even when read
    noon.advance(minutes=1)
    journey({"kind": "event", "event": "order.paid"})
    anna = member("Анна")
    paid = paid_order(anna, "R-1")
    run()
    event_key = visits()[0][2]
    assert visits() == [(anna.pk, "waiting", event_key)] and event_key.startswith("order.paid:")
    JourneyCursor.objects.update(position=0, seen_before=0, seen_up_to=0, seen_xmax=None)
    paid_order(anna, "R-2")  # no re-entry: the second order lets nobody in
    run()
    assert visits() == [(anna.pk, "waiting", event_key)] and paid.status == "paid"


def test_with_re_entry_a_member_enters_again_only_once_out(noon):
    journey({"kind": "event", "event": "event:review"}, reentry=True)
    anna = member("Анна")
    record_event(member_id=anna.pk, type="review", key="r-1", actor="site")
    run()
    record_event(member_id=anna.pk, type="review", key="r-2", actor="site")
    run()
    assert [status for _member, status, _key in visits()] == ["waiting"]  # inside: not twice at once
    noon.advance(days=1)
    run()
    record_event(member_id=anna.pk, type="review", key="r-3", actor="site")
    run()
    assert [status for _member, status, _key in visits()] == ["done", "waiting"]


def test_a_registration_lets_the_new_member_in(noon):
    journey({"kind": "event", "event": "member.created"})
    anna = member("Анна")
    run()
    assert [(who, status) for who, status, _key in visits()] == [(anna.pk, "waiting")]


def test_no_purchase_for_n_days_lets_in_once_per_quiet_spell(noon):
    anna, boris = member("Анна"), member("Борис")
    buy(anna, clock.now() - timedelta(days=91), "1000")
    first = buy(boris, clock.now() - timedelta(days=89), "1000")
    journey({"kind": "inactivity", "days": 90}, reentry=True)
    run()
    assert [(who, key) for who, _status, key in visits()] == [(anna.pk, f"quiet-after:{anna.orders.get().pk}")]
    noon.advance(days=2)
    run()
    assert [who for who, _status, _key in visits()] == [anna.pk, boris.pk] and first.pk
    noon.advance(days=2)
    latest = buy(anna, clock.now(), "500")  # a new purchase, then 90 quiet days: a new spell
    noon.advance(days=90, minutes=1)
    run()
    assert [(who, key) for who, _status, key in visits()][-1] == (anna.pk, f"quiet-after:{latest.pk}")
    assert len(visits()) == 3


def test_entering_a_segment_lets_in_who_matches_now_and_did_not_at_the_last_look(noon):
    Tag.objects.create(code="vip", name="VIP")
    anna, boris = member("Анна", tags=["vip"]), member("Борис")
    journey({"kind": "segment", "tree": {"type": "tags", "tags": ["vip"]}})
    run()
    assert visits() == []  # the first look notes who is in the segment already
    members.update_member(member_id=boris.pk, actor="t", tags=["vip"])
    noon.advance(minutes=30)
    run()
    assert visits() == []  # looked at hourly
    noon.advance(minutes=30)
    run()
    assert [who for who, _status, _key in visits()] == [boris.pk] and anna.pk


def test_a_moment_lets_in_the_segment_once_and_birthdays_once_a_year(noon):
    anna = member("Анна", birthday=date(1990, 6, 10))
    member("Борис", birthday=date(1990, 6, 11))
    journey({"kind": "schedule", "at": (clock.now() + timedelta(hours=2)).isoformat()}, code="moment")
    journey({"kind": "birthday"}, code="birthday", reentry=True)
    run()
    assert visits("moment") == [] and [(who, key) for who, _s, key in visits("birthday")] == [(anna.pk,
                                                                                             "birthday:2026")]
    noon.advance(hours=2)
    run()
    noon.advance(hours=2)
    run()
    assert len(visits("moment")) == 2 and len(visits("birthday")) == 1


def test_the_holdout_and_the_control_group_keep_members_out_at_entry_as_python_and_sql_agree(noon):
    ProgrammeSettings.objects.create(pk=ProgrammeSettings.SINGLETON, control_group_percent=Decimal(10))
    crowd = [members.create_member(actor="t", last_name=f"Участник {n}") for n in range(120)]
    made = journey({"kind": "schedule", "at": clock.now().isoformat()}, holdout_percent="25")
    run()
    by = dict(JourneyState.objects.values_list("member_id", "held_out_by"))
    expected = {}
    for who in crowd:
        if holdout.in_global_control_group(who.pk, clock.now()):
            expected[who.pk] = "control_group"
        elif holdout.held_out(who.pk, salt(made), Decimal(25)):
            expected[who.pk] = "journey"
        else:
            expected[who.pk] = ""
    assert by == expected
    assert 0 < list(by.values()).count("control_group") < 30 and 10 < list(by.values()).count("journey") < 50
    held = JourneyState.objects.filter(status="held_out")
    assert held.count() == list(by.values()).count("journey") + list(by.values()).count("control_group")
    noon.advance(days=2)
    run()
    assert not JourneyState.objects.filter(status="held_out", steps__isnull=False).exists()
    assert set(JourneyState.objects.exclude(status="held_out").values_list("status", flat=True)) == {"done"}
