"""A visit's journey and version are checked per statement (migration communications 0014): a visit names a
version of its own journey; on PostgreSQL a visit keeps its journey and version, and a journey or version with
visits is not deleted behind Django's back (nor through Django: the version is protected)."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import ProtectedError

from kopilka.communications.journeys.models import Journey, JourneyState, JourneyVersion
from kopilka.communications.journeys.services import create_journey
from kopilka.core import clock
from tests.factories import member

pytestmark = pytest.mark.django_db

WAIT = {"start": "pause", "steps": {"pause": {"kind": "wait", "days": 1, "hours": 0, "next": None}}}
postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (set DATABASE_URL)")


def journeys() -> tuple[Journey, Journey]:
    trigger = {"kind": "event", "event": "order.paid"}
    return (create_journey(code="one", name="Один", trigger=trigger, graph=WAIT, actor="t"),
            create_journey(code="two", name="Два", trigger=trigger, graph=WAIT, actor="t"))


def visit(journey: Journey, version: JourneyVersion, key: str = "k") -> JourneyState:
    now = clock.now()
    return JourneyState.objects.create(journey=journey, version=version, member=member(), entry_key=key,
                                       status="done", step_since=now, entered_at=now, left_at=now)


def test_a_visit_names_a_version_of_its_own_journey():
    one, two = journeys()
    visit(one, one.current_version())
    with pytest.raises(IntegrityError), transaction.atomic():
        visit(one, two.current_version(), key="other")
    with pytest.raises(IntegrityError), transaction.atomic():
        JourneyState.objects.bulk_create([JourneyState(
            journey_id=one.pk, version_id=10**9, member=member(), entry_key="x", status="done",
            step_since=clock.now(), entered_at=clock.now())])
    assert JourneyState.objects.count() == 1


@postgres_only
def test_a_visit_keeps_its_journey_and_version_and_nothing_it_names_is_deleted_behind_djangos_back():
    one, two = journeys()
    kept = visit(one, one.current_version())
    with pytest.raises(IntegrityError), transaction.atomic():
        JourneyState.objects.filter(pk=kept.pk).update(journey=two, version=two.current_version())
    with pytest.raises(IntegrityError), transaction.atomic():
        JourneyVersion.objects.filter(journey=one)._raw_delete(connection.alias)
    with pytest.raises(IntegrityError), transaction.atomic():
        Journey.objects.filter(pk=one.pk)._raw_delete(connection.alias)
    with pytest.raises(ProtectedError):  # Django too keeps a version with visits
        one.delete()
    kept.delete()
    one.delete()
    assert list(Journey.objects.values_list("code", flat=True)) == ["two"]
