"""The steps as the worker takes them, a batch of visits at a time: a send under the rules of marketing messages
and its template's relevance window, a wait for an event with its two exits, a branch on a conditions tree, a random
split stable for the member, a reward through a budgeted campaign (what the budget refused recorded), tags, an exit;
a paused journey stands still."""

from datetime import timedelta

import pytest

from kopilka.campaigns.events import record_event
from kopilka.communications import services as outbox
from kopilka.communications.journeys.models import JourneyState, JourneyStep, message_source
from kopilka.communications.journeys.services import create_journey, move_journey
from kopilka.communications.message_templates import save_template
from kopilka.communications.models import Message, MessageTemplate
from kopilka.core import clock, holdout, programme
from kopilka.core.models import ProgrammeSettings
from kopilka.customers import services as members
from kopilka.customers.models import Region, Tag
from kopilka.ledger.selectors import balance
from tests.communications.journeys.conftest import member, run
from tests.factories import live_campaign

pytestmark = pytest.mark.django_db


def journey(graph: dict, *, code: str = "j"):
    create_journey(code=code, name="Путь", trigger={"kind": "schedule", "at": clock.now().isoformat()}, graph=graph,
                   actor="t")
    return move_journey(code, "start", actor="t")


def steps(**given) -> dict:
    return {"start": next(iter(given)), "steps": given}


def taken(who) -> list[tuple[str, str]]:
    return list(JourneyStep.objects.filter(state__member=who).order_by("id").values_list("step", "outcome"))


@pytest.fixture
def letter(rules):
    save_template(code="hello", actor="t", name="Привет", channel="email", purpose="marketing", subject_ru="Привет",
                  body_ru="{{ member.name }}, привет")


def test_a_send_step_writes_each_message_under_the_rules_of_marketing(letter, noon):
    far_east = Region.objects.get(code="25")
    assert far_east.time_zone == "Asia/Vladivostok"
    anna = member("Анна")  # noon in Moscow: sent at once
    vera = member("Вера", region_code=far_east.code)  # 19:00 in Vladivostok... quiet from 21:00
    no_consent, withdrawn = member("Нина", consent=None), member("Ольга", consent=False)
    no_address = members.create_member(actor="t", last_name="Без почты")
    capped = member("Полина")
    for number in range(5):  # the cap: 5 marketing e-mails in 7 days
        Message.objects.create(member=capped, channel="email", purpose="marketing", kind="mailing",
                               source=f"m:{number}", to="p@example.ru", subject="s", body="b", status="sent",
                               created_at=clock.now() - timedelta(days=1))
    noon.advance(hours=3)  # 15:00 in Moscow, 22:00 in Vladivostok
    journey(steps(hello={"kind": "send", "template": "hello"}))
    run()
    fate = {m.member_id: (m.status, m.skip_reason, m.next_try_at) for m in Message.objects.filter(kind="journey")}
    vladivostok_morning = (clock.now() + timedelta(hours=11)).replace(minute=0)  # 09:00 the next day there
    assert fate == {
        anna.pk: ("queued", "", None),
        vera.pk: ("queued", "", vladivostok_morning),
        no_consent.pk: ("skipped", "no_consent", None),
        withdrawn.pk: ("skipped", "unsubscribed", None),
        no_address.pk: ("skipped", "no_address", None),
        capped.pk: ("skipped", "frequency_cap", None),
    }
    state = JourneyState.objects.get(member=anna)
    assert Message.objects.get(member=anna).source == message_source(state.pk, "hello")
    assert (state.status, taken(anna)) == ("done", [("hello", "sent")])


def test_without_quiet_hours_a_message_goes_at_once_at_any_hour(letter, noon):
    ProgrammeSettings.objects.filter(pk=ProgrammeSettings.SINGLETON).update(quiet_hours="00:00-00:00")
    programme.forget()
    noon.advance(hours=11)  # 23:00 in Moscow
    anna = member("Анна")
    journey(steps(hello={"kind": "send", "template": "hello"}))
    run()
    assert Message.objects.filter(member=anna).values_list("status", "next_try_at").get() == ("queued", None)


def test_a_message_waiting_out_quiet_hours_past_its_templates_relevance_is_skipped_too_late(rules, noon, smtp):
    save_template(code="tonight", actor="t", name="Сегодня", channel="email", purpose="marketing",
                  subject_ru="Только сегодня", body_ru="{{ member.name }}, только до полуночи", relevance_hours=2)
    noon.advance(hours=10)  # 22:00 in Moscow: quiet until 09:00
    anna = member("Анна")
    journey(steps(tonight={"kind": "send", "template": "tonight"}))
    run()
    written = clock.now()
    assert Message.objects.filter(member=anna).values_list("status", "next_try_at", "relevant_until").get() == (
        "queued", written + timedelta(hours=11), written + timedelta(hours=2))
    noon.advance(hours=11)  # 09:00: the quiet hours are over, and so is the window
    assert outbox.deliver_queued() == 0 and not smtp.received
    assert Message.objects.filter(member=anna).values_list("status", "skip_reason", "attempts", "body").get() == (
        "skipped", "too_late", 0, "")


def test_a_send_step_whose_template_leaves_no_time_records_its_messages_too_late(rules, noon):
    save_template(code="never", actor="t", name="Никогда", channel="email", purpose="marketing",
                  subject_ru="Поздно", body_ru="Уже поздно", relevance_hours=0)
    anna = member("Анна")
    journey(steps(never={"kind": "send", "template": "never"}))
    run()
    assert Message.objects.filter(member=anna).values_list("status", "skip_reason", "relevant_until").get() == (
        "skipped", "too_late", clock.now())


def test_a_send_step_whose_template_is_gone_leaves_its_members_where_they_are(letter, noon):
    anna = member("Анна")
    journey(steps(hello={"kind": "send", "template": "hello"}))
    MessageTemplate.objects.filter(code="hello").delete()
    run()
    state = JourneyState.objects.get(member=anna)
    assert (state.status, state.step, taken(anna), Message.objects.count()) == ("active", "hello", [], 0)


def test_waiting_for_an_event_leaves_by_the_event_or_by_the_timeout(noon):
    anna, boris = member("Анна"), member("Борис")
    journey(steps(listen={"kind": "wait_event", "event": "event:review", "timeout_days": 2, "on_event": "thanks",
                          "on_timeout": None},
                  thanks={"kind": "exit"}))
    run()
    noon.advance(days=1)
    record_event(member_id=anna.pk, type="review", key="r-1", actor="site")
    run()
    assert (JourneyState.objects.get(member=anna).status, taken(anna)) == ("exited", [("listen", "event"),
                                                                                      ("thanks", "exited")])
    assert JourneyState.objects.get(member=boris).status == "waiting"
    noon.advance(days=1)
    run()
    assert (JourneyState.objects.get(member=boris).status, taken(boris)) == ("done", [("listen", "timeout")])


def test_an_event_from_before_the_wait_does_not_end_it(noon):
    anna = member("Анна")
    journey(steps(pause={"kind": "wait", "hours": 1, "next": "listen"},
                  listen={"kind": "wait_event", "event": "event:review", "timeout_days": 1}))
    run()
    record_event(member_id=anna.pk, type="review", key="r-1", actor="site")  # while in the first wait
    noon.advance(hours=1)
    run()
    noon.advance(hours=1)
    run()
    assert JourneyState.objects.get(member=anna).step == "listen"


def test_a_branch_on_a_conditions_tree(noon):
    Tag.objects.create(code="vip", name="VIP")
    anna, boris = member("Анна", tags=["vip"]), member("Борис")
    journey(steps(vip={"kind": "branch", "condition": {"kind": "conditions", "tree": {"type": "tags", "tags": ["vip"]}},
                       "yes": None, "no": "out"},
                  out={"kind": "exit"}))
    run()
    assert (taken(anna), taken(boris)) == ([("vip", "yes")], [("vip", "no"), ("out", "exited")])


def test_a_random_split_follows_the_members_hash_salted_by_the_journey_and_step(noon):
    crowd = [members.create_member(actor="t", last_name=f"Участник {n}") for n in range(60)]
    journey(steps(ab={"kind": "split", "paths": [{"share": 30, "next": None}, {"share": 70, "next": None}]}),
            code="ab-test")
    run()
    salt = holdout.salt_of("journey:ab-test:ab")
    expected = {who.pk: "path-1:30" if holdout.bucket(who.pk, salt) < 3000 else "path-2:70" for who in crowd}
    got = dict(JourneyStep.objects.values_list("state__member_id", "outcome"))
    assert got == expected and 5 < list(got.values()).count("path-1:30") < 30


def test_a_reward_grants_through_its_campaign_and_records_what_the_budget_refused(noon):
    live_campaign("journey-gift", {"accrual": {"reward": "fixed", "points": 100, "scenario": "event",
                                               "event_types": ["subscription"]}}, type="promo", budget=150)
    anna, boris, vera = member("Анна"), member("Борис"), member("Вера")
    journey(steps(gift={"kind": "accrue", "event": "subscription"}))
    run()
    got = {s.state.member_id: (s.points, s.refused) for s in JourneyStep.objects.select_related("state")}
    assert got == {anna.pk: (100, 0), boris.pk: (50, 50), vera.pk: (0, 100)}
    assert [balance(who.pk, clock.now()).available for who in (anna, boris, vera)] == [100, 50, 0]


def test_tags_are_put_on_and_taken_off(noon):
    Tag.objects.create(code="vip", name="VIP")
    Tag.objects.create(code="sleepy", name="Спящий")
    anna = member("Анна", tags=["sleepy"])
    journey(steps(on={"kind": "tag", "tag": "vip", "next": "off"}, off={"kind": "tag", "tag": "sleepy",
                                                                      "remove": True}))
    run()
    assert list(anna.tags.values_list("code", flat=True)) == ["vip"]
    assert taken(anna) == [("on", "tagged"), ("off", "tagged")]


def test_a_paused_journey_stands_still_and_goes_on_when_resumed(noon):
    anna = member("Анна")
    journey(steps(pause={"kind": "wait", "hours": 1}))
    run()
    move_journey("j", "pause", actor="t")
    noon.advance(hours=2)
    run()
    assert JourneyState.objects.get(member=anna).status == "waiting"
    move_journey("j", "resume", actor="t")
    run()
    assert (JourneyState.objects.get(member=anna).status, taken(anna)) == ("done", [("pause", "waited")])
