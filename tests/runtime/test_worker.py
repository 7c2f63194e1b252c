"""`kopilka worker`: queued tasks, and the periodic schedule of `kopilka.runtime.schedule` once per slot."""

import sys
import types
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from kopilka.analytics.snapshots.params import FORMS
from kopilka.core import clock
from kopilka.core.models import PeriodicRun
from kopilka.runtime.schedule import SCHEDULE
from tests.core.marks import transactional_db
from tests.core.periodic_tasks import add


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@transactional_db
def test_a_worker_in_batch_mode_runs_the_enqueued_tasks_then_exits():
    enqueued = add.enqueue(2, 3)

    call_command("worker", batch=True, startup_delay=False, schedule=False, verbosity=0)

    result = DBTaskResult.objects.get(pk=enqueued.id)
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == 5
    assert PeriodicRun.objects.count() == 0


@pytest.fixture
def fake_ledger(monkeypatch):
    """kopilka.ledger.services replaced by functions that record their calls."""
    calls: dict[str, list] = {"expire": [], "release_expired_holds": []}

    def expire(*, as_of, actor="system:expiry", progress=None):
        calls["expire"].append(as_of)
        return types.SimpleNamespace(lots=2)

    def release_expired_holds(*, now):
        calls["release_expired_holds"].append(now)
        return 4

    module = types.ModuleType("kopilka.ledger.services")
    module.expire = expire
    module.release_expired_holds = release_expired_holds
    monkeypatch.setitem(sys.modules, "kopilka.ledger.services", module)
    return calls


@transactional_db
def test_a_batch_worker_runs_the_schedule_due_now_once(fake_ledger, monkeypatch, settings):
    settings.KOPILKA = {**settings.KOPILKA, "NIGHTLY_EXPIRY_AT": "03:00", "TIME_ZONE": "Europe/Moscow"}
    now = utc(2026, 3, 10, 9, 41, 30)
    monkeypatch.setattr(clock, "now", lambda: now)

    call_command("worker", batch=True, startup_delay=False, worker_id="batch-1", verbosity=0)
    call_command("worker", batch=True, startup_delay=False, worker_id="batch-2", verbosity=0)

    assert fake_ledger["expire"] == [utc(2026, 3, 10, 0, 0)]
    assert fake_ledger["release_expired_holds"] == [now]
    runs = {run.job: run for run in PeriodicRun.objects.all()}
    assert {job: (run.slot, run.worker_id) for job, run in runs.items()} == {
        "nightly_expiry": (utc(2026, 3, 10, 0, 0), "batch-1"),
        "release_expired_holds": (utc(2026, 3, 10, 9, 41), "batch-1"),
        "prune_periodic_results": (utc(2026, 3, 10, 1, 0), "batch-1"),
        "prune_idempotency": (utc(2026, 3, 10, 1, 10), "batch-1"),
        "advance_campaign_schedule": (utc(2026, 3, 10, 9, 41), "batch-1"),
        "birthdays": (utc(2026, 3, 10, 6, 0), "batch-1"),
        "review_tiers": (utc(2026, 3, 9, 21, 30), "batch-1"),
        "deliver_messages": (utc(2026, 3, 10, 9, 41), "batch-1"),
        "deliver_webhooks": (utc(2026, 3, 10, 9, 41), "batch-1"),
        "prune_outbox": (utc(2026, 3, 10, 1, 20), "batch-1"),
        "personal_notices": (utc(2026, 3, 10, 9, 41), "batch-1"),
        "points_expiring": (utc(2026, 3, 10, 7, 0), "batch-1"),
        "advance_mailings": (utc(2026, 3, 10, 9, 41), "batch-1"),
        "run_journeys": (utc(2026, 3, 10, 9, 41), "batch-1"),
        "nightly_snapshots": (utc(2026, 3, 10, 1, 30), "batch-1"),
    }
    results = {str(r.id): r for r in DBTaskResult.objects.all()}
    assert len(runs) == len(SCHEDULE)
    assert len(results) == 15 + len(FORMS)  # the nightly snapshots' job queued one snapshot per analytics page
    assert results[runs["release_expired_holds"].task_result_id].return_value == 4
    assert results[runs["nightly_expiry"].task_result_id].status == TaskResultStatus.SUCCESSFUL


@transactional_db
def test_the_scheduled_jobs_call_their_apps_and_record_json_results(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: utc(2026, 3, 10, 9, 41, 30))

    call_command("worker", batch=True, startup_delay=False, verbosity=0)

    results = {r.task_path.rsplit(".", 1)[1]: r for r in DBTaskResult.objects.all()}
    assert {name: r.status for name, r in results.items()} == {
        "nightly_expiry": TaskResultStatus.SUCCESSFUL,
        "release_expired_holds": TaskResultStatus.SUCCESSFUL,
        "prune_periodic_results": TaskResultStatus.SUCCESSFUL,
        "prune_idempotency": TaskResultStatus.SUCCESSFUL,
        "advance_campaign_schedule": TaskResultStatus.SUCCESSFUL,
        "birthdays": TaskResultStatus.SUCCESSFUL,
        "review_tiers": TaskResultStatus.SUCCESSFUL,
        "deliver_messages": TaskResultStatus.SUCCESSFUL,
        "deliver_webhooks": TaskResultStatus.SUCCESSFUL,
        "prune_outbox": TaskResultStatus.SUCCESSFUL,
        "personal_notices": TaskResultStatus.SUCCESSFUL,
        "points_expiring": TaskResultStatus.SUCCESSFUL,
        "advance_mailings": TaskResultStatus.SUCCESSFUL,
        "run_journeys": TaskResultStatus.SUCCESSFUL,
        "nightly_snapshots": TaskResultStatus.SUCCESSFUL,
        "compute_snapshot": TaskResultStatus.SUCCESSFUL,
    }
    assert results["deliver_messages"].return_value == 0
    assert results["deliver_webhooks"].return_value == 0
    assert results["personal_notices"].return_value == 0
    assert results["points_expiring"].return_value == 0
    assert results["run_journeys"].return_value == {"events": 0, "entered": 0, "steps": 0}
    assert len(results["nightly_snapshots"].return_value) == len(FORMS)
    # an empty programme: some analytics refuse (too few members), each recorded on its snapshot
    assert results["compute_snapshot"].return_value in ("done", "failed")
    assert results["nightly_expiry"].return_value == {"lots": 0, "points": 0, "accounts": 0}
    assert results["advance_campaign_schedule"].return_value == {"started": 0, "finished": 0}
    assert results["birthdays"].return_value == 0
    assert results["prune_idempotency"].return_value == 0
    assert results["prune_outbox"].return_value == {"deliveries": 0, "events": 0}
    assert results["review_tiers"].return_value == 0
    assert results["release_expired_holds"].return_value == 0


