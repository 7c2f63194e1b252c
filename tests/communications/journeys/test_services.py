"""Keeping journeys: a draft's steps change in place; a live journey's steps changed after members entered make a
new version, entered from then on, while the members inside finish on the version they entered; a refused change
changes nothing; the life of a journey and what it may not do; the audit log."""

import pytest
from django.utils import translation

from kopilka.communications.journeys.models import Journey, JourneyState, JourneyStep, JourneyVersion
from kopilka.communications.journeys.services import change_journey, create_journey, move_journey
from kopilka.communications.message_templates import save_template
from kopilka.core import clock
from kopilka.core.errors import Conflict, ValidationFailed
from kopilka.core.models import AuditEvent
from tests.communications.journeys.conftest import member, run

pytestmark = pytest.mark.django_db
EVENT = {"kind": "event", "event": "member.created"}


def waits(days: int) -> dict:
    return {"start": "pause", "steps": {"pause": {"kind": "wait", "days": days, "hours": 0, "next": None}}}


def test_a_draft_changes_in_place(noon):
    create_journey(code="j", name="Путь", trigger=EVENT, graph=waits(3), actor="t")
    saved = change_journey("j", graph=waits(5), actor="t")
    assert (saved.new_version, saved.version.number, JourneyVersion.objects.count()) == (False, 1, 1)
    assert saved.version.graph["steps"]["pause"]["days"] == 5


def test_members_inside_finish_on_their_version_and_new_members_enter_the_new_one(noon):
    create_journey(code="j", name="Путь", trigger=EVENT, graph=waits(3), actor="t")
    move_journey("j", "start", actor="t")
    anna = member("Анна")
    run()
    saved = change_journey("j", graph=waits(5), name="Путь-2", actor="t")
    assert (saved.new_version, saved.version.number) == (True, 2)
    boris = member("Борис")
    run()
    assert {s.member_id: s.version.number for s in JourneyState.objects.select_related("version")} == {
        anna.pk: 1, boris.pk: 2}
    noon.advance(days=3)
    run()
    assert list(JourneyState.objects.order_by("member_id").values_list("status", flat=True)) == ["done", "waiting"]
    noon.advance(days=2)
    run()
    assert JourneyStep.objects.filter(state__member=boris).get().taken_at == clock.now()
    assert Journey.objects.get().name == "Путь-2"
    assert list(AuditEvent.objects.filter(action__startswith="communications.journey").order_by("id")
                .values_list("action", "details")) == [
        ("communications.journey_created", {}), ("communications.journey_start", {}),
        ("communications.journey_changed", {"fields": ["name", "steps"], "version": 2}),
    ]


def test_a_refused_change_changes_nothing(noon):
    create_journey(code="j", name="Путь", trigger=EVENT, graph=waits(3), actor="t")
    before = (list(Journey.objects.values()), list(JourneyVersion.objects.values()), AuditEvent.objects.count())
    with translation.override("en"), pytest.raises(ValidationFailed) as refused:
        change_journey("j", graph={"start": "s", "steps": {"s": {"kind": "send", "template": "nope"}}},
                       holdout_percent="10", actor="t")
    assert str(refused.value.message) == "Step s: no message template nope."
    with translation.override("en"), pytest.raises(ValidationFailed) as refused:
        change_journey("j", holdout_percent="60", actor="t")
    assert str(refused.value.message) == "The holdout is 0 to 50 percent, in hundredths."
    with translation.override("en"), pytest.raises(ValidationFailed) as refused:
        change_journey("j", attribution_days=91, actor="t")
    assert str(refused.value.message) == "The attribution window is 1 to 90 days."
    assert (list(Journey.objects.values()), list(JourneyVersion.objects.values()),
            AuditEvent.objects.count()) == before


def test_the_life_of_a_journey_and_what_it_may_not_do(noon):
    create_journey(code="j", name="Путь", trigger=EVENT, graph=waits(3), actor="t")
    with translation.override("en"), pytest.raises(Conflict) as refused:
        move_journey("j", "pause", actor="t")
    assert str(refused.value.message) == "The journey is draft: it cannot be done now."
    assert [move_journey("j", action, actor="t").status for action in ("start", "pause", "resume", "finish")] == [
        "live", "paused", "live", "finished"]
    with pytest.raises(Conflict):
        create_journey(code="j", name="Другой", trigger=EVENT, graph=waits(1), actor="t")


def test_a_live_journey_with_an_e_mail_needs_the_public_address(noon):
    save_template(code="hello", actor="t", name="Привет", channel="email", purpose="marketing", subject_ru="Привет",
                  body_ru="Привет")
    create_journey(code="j", name="Путь", trigger=EVENT, actor="t",
                   graph={"start": "s", "steps": {"s": {"kind": "send", "template": "hello"}}})
    with translation.override("en"), pytest.raises(ValidationFailed) as refused:
        move_journey("j", "start", actor="t")
    assert refused.value.code == "public_url_missing"
    assert Journey.objects.get().status == "draft"
