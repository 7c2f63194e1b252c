"""Snapshots: requested, computed by the worker with progress, reused while fresh, failures recorded; the
parameters are checked as the back office checks them; the nightly job queues the standard set."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import translation
from django_tasks_db.models import DBTaskResult

from kopilka.analytics.models import Snapshot
from kopilka.analytics.presentation.tables import from_dict
from kopilka.analytics.snapshots import lifecycle, params
from kopilka.analytics.snapshots.lifecycle import request_standard
from kopilka.core import clock
from kopilka.core.errors import ValidationFailed
from tests.core.marks import transactional_db

PARAMS = {"start": "2026-03-01", "end": "2026-03-31"}


@transactional_db
def test_a_requested_snapshot_is_computed_by_the_worker(march):
    snapshot = lifecycle.request("dashboard", PARAMS, "user:olga")
    assert (snapshot.status, snapshot.progress, DBTaskResult.objects.count()) == ("queued", 0, 1)

    call_command("worker", batch=True, startup_delay=False, schedule=False, verbosity=0)

    snapshot.refresh_from_db()
    assert (snapshot.status, snapshot.progress, snapshot.error) == ("done", 100, "")
    kpis = {k["code"]: k["value"] for k in snapshot.result["kpis"]}
    assert (kpis["buyers"], kpis["ltv"], kpis["utilization_rate"]) == (2, "2900.00", 0.3)
    chart = snapshot.result["charts"]["points"]
    assert (len(chart["x"]), chart["x"][0], chart["x"][-1]) == (31, "2026-03-01", "2026-03-31")  # every day
    assert {s["name"]: (sum(s["values"]), s["values"][4]) for s in chart["series"]} == {
        "accrued": (100, 100), "spent": (30, 0), "burned": (50, 0)}


def test_a_snapshot_under_way_or_fresh_is_reused_and_a_stale_one_is_not(march, monkeypatch):
    first = lifecycle.request("dashboard", PARAMS, "user:olga")
    assert lifecycle.request("dashboard", dict(reversed(PARAMS.items())), "user:ivan") == first
    assert lifecycle.compute(first.pk) == "done"
    assert lifecycle.compute(first.pk) == "done"  # a second worker finds it computed and leaves it
    assert lifecycle.request("dashboard", PARAMS, "user:ivan") == first
    later = clock.now() + lifecycle.FRESH_FOR + timedelta(minutes=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    assert lifecycle.request("dashboard", PARAMS, "user:ivan") != first
    assert lifecycle.latest("dashboard", PARAMS, done=True) == first


def test_stored_tables_are_shown_in_the_readers_language(march):
    snapshot = lifecycle.request("rfm", {"as_of": "2026-03-31", "grid": "3x3x3"}, "user:olga")
    lifecycle.compute(snapshot.pk)
    snapshot.refresh_from_db()
    stored = snapshot.result["tables"]["rfm-segments"]
    assert stored["columns"][1] == ["name", "segment", True, ""] and stored["rows"][0][1] == "Champions"
    with translation.override("ru"):
        shown = from_dict(stored)
    assert (shown.columns[1].label, shown.rows[0][1]) == ("сегмент", "Чемпионы")
    assert snapshot.result["heatmap"]["values"] == [[0, 0, 1], [1, 0, 0], [1, 0, 0]]


def test_a_failed_computation_is_recorded_with_its_message(march):
    snapshot = lifecycle.request("dashboard", {"start": "2026-03-31", "end": "2026-03-01"}, "user:olga")
    assert lifecycle.compute(snapshot.pk) == "failed"
    snapshot.refresh_from_db()
    assert (snapshot.status, snapshot.error) == ("failed", "The period starts after it ends.")


def test_parameters_are_checked_like_the_back_offices_form(db):
    assert params.clean("rfm", {"as_of": "2026-03-31", "grid": "5x5x5", "region": ""}) == {
        "as_of": "2026-03-31", "grid": "5x5x5"}
    with pytest.raises(ValidationFailed) as error:
        params.clean("dashboard", {"start": "2026-03-31", "end": "2026-03-01", "region": "99"})
    assert set(error.value.details["errors"]) == {"__all__", "region"}
    with pytest.raises(ValidationFailed):
        params.clean("horoscope", {})


def test_the_nightly_job_queues_the_standard_set_for_the_day_before(db):
    queued = {s.kind: s for s in request_standard(date(2026, 4, 1), actor="system:analytics")}
    assert set(queued) == set(params.FORMS) and {s.status for s in queued.values()} == {"queued"}
    assert queued["dashboard"].params == {"start": "2026-03-02", "end": "2026-03-31"}
    assert queued["rfm"].params == {"as_of": "2026-03-31", "grid": "3x3x3"}
    assert queued["clv"].params == {"as_of": "2026-03-31", "unit": "week", "horizon": 52}
    assert Snapshot.objects.count() == len(params.FORMS)


def test_a_page_opens_on_the_snapshot_the_night_computed(db, monkeypatch):
    request_standard(date(2026, 4, 1), actor="system:analytics")
    monkeypatch.setattr(clock, "now", lambda: datetime(2026, 4, 1, 9, tzinfo=UTC))
    for kind in params.FORMS:
        assert lifecycle.latest(kind, params.defaults(kind, clock.local_date(clock.now()))) is not None, kind
