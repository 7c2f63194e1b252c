"""Outbox events and webhook deliveries are kept KOPILKA["OUTBOX_DAYS"] once done with, then pruned by the worker's
daily job: a delivery once delivered or failed for good, an event once no delivery of it is left and every reader
of the outbox (the notices, the journeys, the webhooks' fan-out) has passed it — an entry's event only once the
ledger's cursor has passed its entry, a journey step's once the steps' cursor has passed its log row, so that
neither is recorded twice. The message log is kept."""

from datetime import timedelta

import pytest

from kopilka.communications import webhook_retries
from kopilka.communications.journeys import step_events
from kopilka.communications.journeys.models import JourneyCursor, JourneyState, JourneyStep, JourneyVersion
from kopilka.communications.journeys.services import create_journey
from kopilka.communications.ledger_events import entries_to_events
from kopilka.communications.models import Delivery, DeliveryAttempt, Endpoint, EntryCursor, Message
from kopilka.communications.notice_models import NoticeCursor
from kopilka.communications.tasks import prune_outbox
from kopilka.core import clock
from kopilka.core.models import OutboxEvent
from kopilka.ledger import services as ledger
from tests.ledger.conftest import make_member, new_key

pytestmark = pytest.mark.django_db

DAYS = 90


@pytest.fixture(autouse=True)
def _keeping(settings):
    settings.KOPILKA = {**settings.KOPILKA, "OUTBOX_DAYS": DAYS}


def ago(days: float, **more):
    return clock.now() - timedelta(days=days, **more)


def event(subject: str, age_days: float, *, dispatched: bool = True) -> OutboxEvent:
    at = ago(age_days)
    return OutboxEvent.objects.create(type="member.updated", subject=subject, payload={"member_id": 1},
                                      occurred_at=at, dispatched_at=at if dispatched else None)


def hooks() -> Endpoint:
    return Endpoint.objects.create(url="https://hooks.example.ru/in", event_types=["member.updated"],
                                   created_at=ago(200), updated_at=ago(200))


def delivery(of: OutboxEvent, endpoint: Endpoint, status: str, window_from, delivered_at=None) -> Delivery:
    made = Delivery.objects.create(endpoint=endpoint, event=of, status=status, created_at=of.occurred_at,
                                   window_from=window_from, delivered_at=delivered_at, attempts=1)
    DeliveryAttempt.objects.create(delivery=made, worker="w", started_at=window_from, finished_at=window_from)
    return made


def readers_past(position: int | None = None) -> None:
    """The notices' and the journeys' cursors at `position`, by default past every event."""
    if position is None:
        position = OutboxEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    NoticeCursor.objects.update_or_create(pk=1, defaults={"position": position})
    JourneyCursor.objects.update_or_create(source="outbox", defaults={"position": position})


def prune() -> dict:
    return prune_outbox.call(clock.now().isoformat())


def subjects() -> list[str]:
    return sorted(OutboxEvent.objects.values_list("subject", flat=True))


def test_finished_deliveries_and_their_events_go_after_the_keeping_time_and_the_rest_stays():
    anna = make_member()
    Message.objects.create(member=anna, kind="compensation", source="c:1", to="anna@example.ru", subject="s",
                           body="b", status=Message.Status.SENT, created_at=ago(400), sent_at=ago(400))
    endpoint = hooks()
    delivery(event("delivered", 100), endpoint, "delivered", ago(95), delivered_at=ago(95))
    delivery(event("failed", 100), endpoint, "failed", ago(DAYS, minutes=1) - webhook_retries.WINDOW)
    delivery(event("failed lately", 100), endpoint, "failed", ago(DAYS, minutes=1))  # tried past the cutoff
    delivery(event("pending", 100), endpoint, "pending", ago(100))  # its endpoint is off, say: it waits
    delivery(event("replayed", 100), endpoint, "delivered", ago(10), delivered_at=ago(10))
    event("no endpoint wanted it", 100)
    event("recent", DAYS - 1)
    readers_past()

    assert prune() == {"deliveries": 2, "events": 3}
    assert subjects() == ["failed lately", "pending", "recent", "replayed"]
    assert sorted(Delivery.objects.values_list("event__subject", flat=True)) == [
        "failed lately", "pending", "replayed"]
    assert DeliveryAttempt.objects.count() == 3  # the tries went with their deliveries
    assert list(Message.objects.values_list("source", flat=True)) == ["c:1"]  # the member card's history stays
    assert prune() == {"deliveries": 0, "events": 0}


@pytest.mark.parametrize("reader", ["notices", "journeys", "webhooks"])
def test_an_event_a_reader_of_the_outbox_has_not_passed_stays(reader):
    read = event("read", 100)
    event("not read", 100, dispatched=reader != "webhooks")
    readers_past()
    if reader == "notices":
        NoticeCursor.objects.update(position=read.pk)
    elif reader == "journeys":
        JourneyCursor.objects.filter(source="outbox").update(position=read.pk)

    assert prune() == {"deliveries": 0, "events": 1}
    assert subjects() == ["not read"]


def test_nothing_goes_before_the_notices_read_and_the_journeys_hold_nothing_back_before_they_start():
    old = event("old", 100)
    assert prune() == {"deliveries": 0, "events": 0}  # the notices will read from the first event
    NoticeCursor.objects.create(pk=1, position=old.pk)
    assert not JourneyCursor.objects.exists()  # made at the newest event when they start
    assert prune() == {"deliveries": 0, "events": 1} and subjects() == []


def test_an_entrys_event_stays_until_the_ledgers_cursor_has_passed_the_entry_so_it_is_never_recorded_twice():
    anna = make_member()
    entry = ledger.accrue(member_id=anna.pk, points=300, actor="t", idempotency_key=new_key())
    assert entries_to_events() == 1
    key = f"ledger.entry:{entry.pk}"
    OutboxEvent.objects.update(occurred_at=ago(100), dispatched_at=ago(100))
    readers_past()
    EntryCursor.objects.update(position=entry.pk - 1)  # the entry may be read again

    assert prune() == {"deliveries": 0, "events": 0}
    assert entries_to_events() == 0  # read again, its event is found by its key
    EntryCursor.objects.update(position=entry.pk, seen_before=entry.pk, seen_up_to=entry.pk)
    assert prune() == {"deliveries": 0, "events": 1}
    assert entries_to_events() == 0 and not OutboxEvent.objects.filter(key=key).exists()


def test_a_journey_steps_event_stays_until_the_steps_cursor_has_passed_its_log_row():
    anna = make_member()
    create_journey(code="j", name="Путь", trigger={"kind": "event", "event": "order.paid"}, actor="t",
                   graph={"start": "out", "steps": {"out": {"kind": "exit"}}})
    version = JourneyVersion.objects.get(journey__code="j")
    visit = JourneyState.objects.create(journey=version.journey, version=version, member=anna, entry_key="k",
                                        status="exited", step_since=ago(100), entered_at=ago(100), left_at=ago(100))
    taken = JourneyStep.objects.create(state=visit, step="out", outcome="exited", taken_at=ago(100))
    assert step_events.steps_to_events() == 1
    OutboxEvent.objects.update(occurred_at=ago(100), dispatched_at=ago(100))
    readers_past()
    JourneyCursor.objects.filter(source=step_events.SOURCE).update(position=taken.pk - 1)  # may be read again

    assert prune() == {"deliveries": 0, "events": 0}
    JourneyCursor.objects.filter(source=step_events.SOURCE).update(position=taken.pk, seen_before=taken.pk,
                                                                    seen_up_to=taken.pk)
    assert prune() == {"deliveries": 0, "events": 1}
    assert step_events.steps_to_events() == 0 and not OutboxEvent.objects.exists()


def test_the_pruning_runs_daily_in_the_worker_schedule():
    from kopilka.runtime.schedule import SCHEDULE

    [job] = [job for job in SCHEDULE if job.name == "prune_outbox"]
    assert job.task is prune_outbox
