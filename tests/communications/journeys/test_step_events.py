"""Each step a journey visit took becomes one `journey.step` event after the fact, from the steps' log by a cursor:
none written by the step itself, each step once however often the pass runs, none lost when a step's transaction
commits after one that drew a higher id (PostgreSQL); an endpoint subscribed to `journey.step` gets it signed."""

import threading
import time
from datetime import UTC, datetime

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction

from kopilka.communications import webhook_endpoints
from kopilka.communications.journeys.models import JourneyCursor, JourneyState, JourneyStep
from kopilka.communications.journeys.services import create_journey, move_journey
from kopilka.communications.journeys.step_events import steps_to_events
from kopilka.communications.models import Delivery
from kopilka.communications.webhook_delivery import deliver_webhooks
from kopilka.core import clock
from kopilka.core.models import OutboxEvent
from kopilka.customers.models import Tag
from tests.communications.journeys.conftest import member, run
from tests.factories import live_campaign


def journey(steps: dict, start: str) -> None:
    create_journey(code="welcome", name="Знакомство", trigger={"kind": "schedule", "at": clock.now().isoformat()},
                   graph={"start": start, "steps": steps}, actor="t")
    move_journey("welcome", "start", actor="t")


def iso(moment: datetime) -> str:
    """A moment as a payload and a webhook's body write it (UTC, "Z")."""
    return DjangoJSONEncoder().default(moment.astimezone(UTC))


def step_events() -> list[tuple[str, str, dict]]:
    """(key, subject, payload) of every journey.step event, by key's step id."""
    found = OutboxEvent.objects.filter(type="journey.step").values_list("key", "subject", "payload")
    return sorted(found, key=lambda row: int(row[0].rsplit(":", 1)[1]))


def expected_event(step: JourneyStep, kind: str, **points) -> tuple[str, str, dict]:
    state = step.state
    return (f"journey.step:{step.pk}", f"member:{state.member_id}", {
        "taken_id": step.pk, "member_id": state.member_id, "journey": "welcome", "version": 1, "visit_id": state.pk,
        "step_id": step.step,
        "step_kind": kind, "outcome": step.outcome, "taken_at": iso(step.taken_at), **points})


KINDS = {"gift": "accrue", "mark": "tag", "pause": "wait", "out": "exit"}
REWARD_THEN_TAG_THEN_WAIT = {
    "gift": {"kind": "accrue", "event": "subscription", "next": "mark"},
    "mark": {"kind": "tag", "tag": "vip", "next": "pause"},
    "pause": {"kind": "wait", "hours": 1, "next": "out"},
    "out": {"kind": "exit"},
}


@pytest.mark.django_db
def test_each_step_a_visit_took_becomes_one_event_once_however_often_the_pass_runs(noon):
    live_campaign("journey-gift", {"accrual": {"reward": "fixed", "points": 100, "scenario": "event",
                                               "event_types": ["subscription"]}}, type="promo", budget=150)
    Tag.objects.create(code="vip", name="VIP")
    anna, boris = member("Анна"), member("Борис")
    journey(REWARD_THEN_TAG_THEN_WAIT, "gift")
    run()  # the reward and the tag; both wait at the pause
    assert JourneyStep.objects.count() == 4 and step_events() == []  # the steps wrote no event themselves

    assert steps_to_events() == 4 and steps_to_events() == 0
    noon.advance(hours=1)
    run()  # the pause ends, the exit
    assert steps_to_events() == 4 and steps_to_events() == 0
    JourneyCursor.objects.filter(source="steps").update(position=0, seen_before=0, seen_up_to=0, seen_xmax=None)
    assert steps_to_events() == 0  # read again: nothing new

    taken = {(s.state.member_id, s.step): s for s in JourneyStep.objects.select_related("state")}
    assert len(taken) == 8
    granted = {anna.pk: {"points": 100, "refused": 0}, boris.pk: {"points": 50, "refused": 50}}
    assert step_events() == sorted(
        [expected_event(step, KINDS[step_id], **(granted[who] if step_id == "gift" else {}))
         for (who, step_id), step in taken.items()], key=lambda row: int(row[0].rsplit(":", 1)[1]))
    gift = OutboxEvent.objects.get(key=f"journey.step:{taken[boris.pk, 'gift'].pk}")
    assert gift.occurred_at == taken[boris.pk, "gift"].taken_at and gift.payload["refused"] == 50


@pytest.mark.django_db
def test_an_endpoint_subscribed_to_journey_steps_gets_each_step_signed(receiver, staff, noon):
    admin = staff("administrator", email="admin@example.ru")
    endpoint, secret = webhook_endpoints.create_endpoint(admin, url=receiver.url, allow_private=True,
                                                         event_types=["journey.step"])
    receiver.secrets.append(secret)
    Tag.objects.create(code="vip", name="VIP")
    anna = member("Анна")
    journey({"mark": {"kind": "tag", "tag": "vip"}}, "mark")
    run()

    assert deliver_webhooks() == 1 and deliver_webhooks() == 0
    [request] = receiver.received
    step = JourneyStep.objects.get()
    visit = JourneyState.objects.get(member=anna)
    delivery = Delivery.objects.get()
    assert request.verified_with == [secret] and delivery.endpoint_id == endpoint.pk
    assert request.headers["webhook-id"] == delivery.webhook_id and delivery.status == Delivery.Status.DELIVERED
    assert request.json == {"type": "journey.step", "timestamp": iso(step.taken_at), "data": {
        "taken_id": step.pk, "member_id": anna.pk, "journey": "welcome", "version": 1, "visit_id": visit.pk,
        "step_id": "mark",
        "step_kind": "tag", "outcome": "tagged", "taken_at": iso(step.taken_at)}}
    assert "journey.step" in webhook_endpoints.EVENT_TYPES


class HeldOpen:
    """A step's log row written in a transaction of its own (a thread) that stays open until `finish(commit)`."""

    def __init__(self, state_id: int):
        self.state_id, self.step_id = state_id, None
        self.written, self.decided = threading.Event(), threading.Event()
        self.commit = True
        self.thread = threading.Thread(target=self._run)
        self.thread.start()
        assert self.written.wait(10)

    def _run(self) -> None:
        try:
            with transaction.atomic():
                self.step_id = JourneyStep.objects.create(state_id=self.state_id, step="pause", outcome="waited",
                                                          taken_at=clock.now()).pk
                self.written.set()
                self.decided.wait(10)
                if not self.commit:
                    transaction.set_rollback(True)
        finally:
            connection.close()

    def finish(self, *, commit: bool) -> None:
        self.commit = commit
        self.decided.set()
        self.thread.join()


def _cursor() -> int:
    return JourneyCursor.objects.get(source="steps").position


def _until_settled(seconds: float = 300) -> None:
    """Passes until the cursor reaches the newest step, or `seconds` pass: a gap settles once every transaction of
    the cluster running at the pass before has ended, other sessions' too (another test run's long transaction on
    the same server)."""
    deadline = time.monotonic() + seconds
    while True:
        steps_to_events()
        if _cursor() == JourneyStep.objects.order_by("-id").values_list("id", flat=True)[0]:
            return
        if time.monotonic() > deadline:
            return
        time.sleep(0.05)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("commits", [True, False])
def test_a_step_that_commits_after_a_higher_id_is_not_lost(noon, commits):
    anna, boris = member("Анна"), member("Борис")
    journey({"pause": {"kind": "wait", "hours": 1}}, "pause")
    run()  # both wait at the pause
    visit = dict(JourneyState.objects.values_list("member_id", "pk"))
    late = HeldOpen(visit[anna.pk])  # draws the lower id and stays open
    early = JourneyStep.objects.create(state_id=visit[boris.pk], step="pause", outcome="waited", taken_at=clock.now())
    assert early.pk > late.step_id

    steps_to_events()  # sees the higher id only
    assert [key for key, _subject, _payload in step_events()] == [f"journey.step:{early.pk}"]
    steps_to_events()
    steps_to_events()  # however often it runs, the cursor waits for the open transaction
    assert _cursor() < late.step_id

    late.finish(commit=commits)
    steps_to_events()  # the late step is read at once: the cursor is still below it
    expected = [late.step_id, early.pk] if commits else [early.pk]
    assert [key for key, _subject, _payload in step_events()] == [f"journey.step:{pk}" for pk in expected]

    _until_settled()
    assert _cursor() == early.pk
    assert OutboxEvent.objects.filter(type="journey.step").count() == len(expected)
