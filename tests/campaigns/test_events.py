"""Events earn what the event campaigns give, once per key; the birthday run records each birthday once a year."""

from datetime import UTC, date, datetime, timedelta

import pytest

from kopilka.campaigns import services as campaigns
from kopilka.campaigns.events import birthdays, record_event
from kopilka.campaigns.models import MemberEvent
from kopilka.core.errors import Conflict, ValidationFailed
from kopilka.customers import services as members
from kopilka.ledger.models import Entry, Lot

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.fixture
def rewards(db):
    for code, event, points, expiry in (
        ("reviews", "review", 150, {"kind": "days", "days": 30}),
        ("birthday", "birthday", 500, {"kind": "end_of_month", "months": 1}),
    ):
        campaigns.create_campaign(code=code, name=code, type="promo", starts_at=NOW - timedelta(days=30), actor="t",
                                  rules={"accrual": {"reward": "fixed", "points": points, "scenario": "event",
                                                     "event_types": [event]}, "expiry": expiry})
        campaigns.change_status(code=code, action="activate", actor="t", now=NOW - timedelta(days=30))


def test_an_event_earns_its_campaigns_points_once_per_key(rewards):
    anna = members.create_member(actor="t", last_name="Иванова", registered_at=NOW - timedelta(days=100))

    first = record_event(member_id=anna.pk, type="review", key="review-77", actor="site", occurred_at=NOW)
    again = record_event(member_id=anna.pk, type="review", key="review-77", actor="site", occurred_at=NOW)

    assert (first.replayed, again.replayed, again.event.pk) == (False, True, first.event.pk)
    assert first.event.points == 150
    lot = Lot.objects.get()
    assert (lot.source_ref, lot.category.code, lot.amount) == ("reviews:v1", "promo", 150)
    assert Entry.objects.count() == 1
    with pytest.raises(Conflict):
        record_event(member_id=anna.pk, type="subscription", key="review-77", actor="site", occurred_at=NOW)


def test_unknown_types_and_future_events_are_refused(rewards):
    anna = members.create_member(actor="t", last_name="Иванова")

    with pytest.raises(ValidationFailed):
        record_event(member_id=anna.pk, type="dance", key="k", actor="site")
    with pytest.raises(ValidationFailed):
        record_event(member_id=anna.pk, type="review", key="k", actor="site",
                     occurred_at=datetime.now(UTC) + timedelta(days=1))
    assert not MemberEvent.objects.exists()


def test_the_birthday_run_rewards_todays_birthdays_once_and_the_points_burn_at_the_end_of_next_month(rewards):
    born_today = members.create_member(actor="t", last_name="Веселова", birthday=date(1990, 3, 1),
                                       registered_at=NOW - timedelta(days=100))
    members.create_member(actor="t",
                          last_name="Петров", birthday=date(1990, 3, 2), registered_at=NOW - timedelta(days=100))

    assert birthdays(now=NOW) == 1
    assert birthdays(now=NOW) == 0

    event = MemberEvent.objects.get()
    assert (event.member_id, event.type, event.key, event.points) == (born_today.pk, "birthday", "birthday:2026", 500)
    assert Lot.objects.get().expires_at == datetime(2026, 4, 30, 21, tzinfo=UTC)  # end of 30.04, Moscow


def test_the_events_api_records_and_replays(caller_with, rewards):
    anna = members.create_member(actor="t", last_name="Иванова", external_ids=[("site", "u-1")],
                                 registered_at=NOW - timedelta(days=100))
    client = caller_with("events:write")
    body = {"member": {"system": "site", "value": "u-1"}, "type": "review"}

    first = client.post("/api/v1/events/", body, key="review-1")
    again = client.post("/api/v1/events/", body, key="review-1")

    assert (first.status_code, first.json()["points"], first.json()["replayed"]) == (201, 150, False)
    assert (again.status_code, again.json()["replayed"]) == (200, True)
    assert first.json()["campaigns"][0]["campaign"] == "reviews:v1"
    assert caller_with("purchases:read").post("/api/v1/events/", body, key="review-2").status_code == 403
    assert MemberEvent.objects.filter(member=anna).count() == 1


def test_event_types_are_a_reference_book_a_new_one_earns_and_a_retired_one_is_refused(db):
    from kopilka.campaigns.errors import RulesInvalid
    from kopilka.campaigns.models import EventType

    with pytest.raises(RulesInvalid):
        campaigns.create_campaign(code="webinars", name="w", type="promo", starts_at=NOW - timedelta(days=1),
                                  actor="t", rules={"accrual": {"reward": "fixed", "points": 40, "scenario": "event",
                                                                "event_types": ["webinar"]}})
    EventType.objects.create(code="webinar", name="Вебинар")
    campaigns.create_campaign(code="webinars", name="w", type="promo", starts_at=NOW - timedelta(days=1), actor="t",
                              rules={"accrual": {"reward": "fixed", "points": 40, "scenario": "event",
                                                 "event_types": ["webinar"]}})
    campaigns.change_status(code="webinars", action="activate", actor="t", now=NOW - timedelta(days=1))
    anna = members.create_member(actor="t", last_name="Иванова", registered_at=NOW - timedelta(days=100))
    assert record_event(member_id=anna.pk, type="webinar", key="w-1", actor="site", occurred_at=NOW).event.points == 40
    EventType.objects.filter(code="webinar").update(is_active=False)
    with pytest.raises(ValidationFailed):
        record_event(member_id=anna.pk, type="webinar", key="w-2", actor="site", occurred_at=NOW)
