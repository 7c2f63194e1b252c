import sys
import threading
import types
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import OperationalError, connection
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from kopilka.analytics.params import FORMS
from kopilka.core import clock, scheduling, tasks
from kopilka.core.scheduling import DailyAt, Every, PeriodicJob, PeriodicRun, claim, tick
from tests.core.marks import transactional_db
from tests.core.periodic_tasks import add, echo_slot


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- slots


@pytest.mark.parametrize(
    ("now", "slot"),
    [
        (utc(2026, 3, 10, 0, 30), utc(2026, 3, 10, 0, 0)),  # 03:30 Moscow: today's 03:00
        (utc(2026, 3, 10, 0, 0), utc(2026, 3, 10, 0, 0)),  # exactly 03:00 Moscow: the slot itself
        (utc(2026, 3, 9, 23, 59), utc(2026, 3, 9, 0, 0)),  # 02:59 Moscow on the 10th: yesterday's 03:00
        (utc(2026, 3, 10, 21, 30), utc(2026, 3, 10, 0, 0)),  # 00:30 Moscow on the 11th: still the 10th's slot
    ],
)
def test_daily_slot_is_the_latest_wall_clock_time_at_or_before_now(now, slot):
    assert DailyAt("03:00", time_zone="Europe/Moscow").latest_slot(now) == slot


def test_moscow_has_no_daylight_saving_so_the_slot_is_the_same_utc_hour_all_year():
    schedule = DailyAt("03:00", time_zone="Europe/Moscow")
    assert schedule.latest_slot(utc(2026, 1, 15, 12)) == utc(2026, 1, 15, 0, 0)
    assert schedule.latest_slot(utc(2026, 7, 15, 12)) == utc(2026, 7, 15, 0, 0)


def test_daily_slot_follows_daylight_saving_where_the_zone_has_it():
    schedule = DailyAt("03:00", time_zone="Europe/Berlin")  # clocks go forward on 2026-03-29
    assert schedule.latest_slot(utc(2026, 3, 28, 12)) == utc(2026, 3, 28, 2, 0)
    assert schedule.latest_slot(utc(2026, 3, 29, 12)) == utc(2026, 3, 29, 1, 0)


def test_daily_slot_uses_the_programme_time_zone_by_default(settings):
    settings.KOPILKA = {**settings.KOPILKA, "TIME_ZONE": "Asia/Vladivostok"}  # UTC+10
    assert DailyAt("03:00").latest_slot(utc(2026, 3, 10, 12)) == utc(
        2026, 3, 9, 17, 0
    )  # 03:00 on the 10th there


def test_daily_slot_of_a_now_given_in_another_zone_is_the_same_moment():
    moscow_now = utc(2026, 3, 9, 23, 59).astimezone(clock.programme_tz())
    assert DailyAt("03:00", time_zone="Europe/Moscow").latest_slot(moscow_now) == utc(2026, 3, 9, 0, 0)


def test_a_malformed_daily_time_is_refused_when_the_schedule_is_built():
    with pytest.raises(ValueError):
        DailyAt("3 am")


def test_interval_slots_are_multiples_of_the_interval_since_the_epoch():
    assert Every(60).latest_slot(utc(2026, 3, 10, 12, 34, 56, 789000)) == utc(2026, 3, 10, 12, 34)
    assert Every(60).latest_slot(utc(2026, 3, 10, 12, 34)) == utc(2026, 3, 10, 12, 34)
    assert Every(7200).latest_slot(utc(2026, 3, 10, 13, 59)) == utc(2026, 3, 10, 12, 0)


def test_an_interval_must_be_positive():
    with pytest.raises(ValueError):
        Every(0)


def test_registered_jobs_read_the_nightly_time_from_settings_at_each_tick(settings):
    jobs = {job.name: job for job in scheduling.registered_jobs()}
    assert {"nightly_expiry", "release_expired_holds", "prune_periodic_results"} <= set(jobs)
    settings.KOPILKA = {**settings.KOPILKA, "NIGHTLY_EXPIRY_AT": "04:15", "TIME_ZONE": "Europe/Moscow"}
    assert jobs["nightly_expiry"].latest_slot(utc(2026, 3, 10, 12)) == utc(2026, 3, 10, 1, 15)
    assert jobs["release_expired_holds"].latest_slot(utc(2026, 3, 10, 12, 0, 59)) == utc(2026, 3, 10, 12)
    assert jobs["nightly_expiry"].task.queue_name == "periodic"
    assert jobs["release_expired_holds"].task.queue_name == "periodic"


# --- ticks

EVERY_HOUR = PeriodicJob(name="echo_hourly", task=echo_slot, schedule=Every(3600))


@pytest.mark.django_db
def test_a_tick_claims_the_latest_slot_once_and_enqueues_the_task_with_it():
    now = utc(2026, 3, 10, 12, 30)

    first = tick(worker_id="w1", now=now, jobs=[EVERY_HOUR])
    again = tick(worker_id="w2", now=now + timedelta(minutes=10), jobs=[EVERY_HOUR])

    assert [(run.job, run.slot, run.worker_id) for run in first] == [
        ("echo_hourly", utc(2026, 3, 10, 12), "w1")
    ]
    assert again == []
    assert PeriodicRun.objects.count() == 1
    result = DBTaskResult.objects.get()
    assert str(result.id) == first[0].task_result_id
    assert (result.task_path, result.queue_name) == ("tests.core.periodic_tasks.echo_slot", "periodic")
    assert result.args_kwargs == {"args": [], "kwargs": {"slot": "2026-03-10T12:00:00+00:00"}}


@pytest.mark.django_db
def test_the_next_slot_is_claimed_when_it_comes():
    tick(worker_id="w1", now=utc(2026, 3, 10, 12, 30), jobs=[EVERY_HOUR])
    tick(worker_id="w1", now=utc(2026, 3, 10, 13, 0), jobs=[EVERY_HOUR])
    assert list(PeriodicRun.objects.order_by("slot").values_list("slot", flat=True)) == [
        utc(2026, 3, 10, 12),
        utc(2026, 3, 10, 13),
    ]
    assert DBTaskResult.objects.count() == 2


@pytest.mark.django_db
def test_a_worker_started_after_missed_slots_runs_only_the_latest():
    tick(worker_id="w1", now=utc(2026, 3, 10, 12, 30), jobs=[EVERY_HOUR])
    tick(worker_id="w1", now=utc(2026, 3, 13, 9, 5), jobs=[EVERY_HOUR])  # down for three days
    assert list(PeriodicRun.objects.order_by("slot").values_list("slot", flat=True)) == [
        utc(2026, 3, 10, 12),
        utc(2026, 3, 13, 9),
    ]
    assert DBTaskResult.objects.count() == 2


@pytest.mark.django_db
def test_a_failing_job_does_not_stop_the_others():
    def broken_schedule():
        raise ValueError("bad setting")

    broken = PeriodicJob(name="broken", task=echo_slot, schedule=broken_schedule)
    runs = tick(worker_id="w1", now=utc(2026, 3, 10, 12, 30), jobs=[broken, EVERY_HOUR])
    assert [run.job for run in runs] == ["echo_hourly"]
    assert list(PeriodicRun.objects.values_list("job", flat=True)) == ["echo_hourly"]


@pytest.mark.django_db
def test_runs_older_than_the_retention_are_deleted_by_the_next_claim():
    old = PeriodicRun.objects.create(
        job="echo_hourly", slot=utc(2026, 1, 1) - scheduling.RUN_RETENTION, worker_id="w0"
    )
    other_job = PeriodicRun.objects.create(job="other", slot=old.slot, worker_id="w0")
    recent = PeriodicRun.objects.create(job="echo_hourly", slot=utc(2026, 1, 1, 1), worker_id="w0")

    claim(EVERY_HOUR, utc(2026, 1, 1, 2), "w1")

    remaining = set(PeriodicRun.objects.values_list("pk", flat=True))
    assert old.pk not in remaining
    assert {other_job.pk, recent.pk} <= remaining
    assert len(remaining) == 3


@pytest.mark.postgres
@transactional_db
def test_workers_ticking_at_once_enqueue_a_slot_exactly_once():
    threads_count = 8
    barrier = threading.Barrier(threads_count)
    slot = utc(2026, 3, 10, 12)
    outcomes: list[object] = []

    def worker(n: int) -> None:
        try:
            barrier.wait()
            outcomes.append(claim(EVERY_HOUR, slot, f"worker-{n}"))
        except Exception as e:  # surfaced by the assertion below
            outcomes.append(e)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    claimed = [o for o in outcomes if isinstance(o, PeriodicRun)]
    assert len(outcomes) == threads_count
    assert [o for o in outcomes if not isinstance(o, PeriodicRun)] == [None] * (threads_count - 1)
    assert PeriodicRun.objects.count() == 1
    assert PeriodicRun.objects.get().worker_id == claimed[0].worker_id
    assert DBTaskResult.objects.count() == 1


# --- the worker


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
        "advance_campaign_schedule": (utc(2026, 3, 10, 9, 41), "batch-1"),
        "birthdays": (utc(2026, 3, 10, 6, 0), "batch-1"),
        "review_tiers": (utc(2026, 3, 9, 21, 30), "batch-1"),
        "deliver_messages": (utc(2026, 3, 10, 9, 41), "batch-1"),
        "nightly_snapshots": (utc(2026, 3, 10, 1, 30), "batch-1"),
    }
    results = {str(r.id): r for r in DBTaskResult.objects.all()}
    assert len(results) == 8 + len(FORMS)  # the nightly snapshots' job queued one snapshot per analytics page
    assert results[runs["release_expired_holds"].task_result_id].return_value == 4
    assert results[runs["nightly_expiry"].task_result_id].status == TaskResultStatus.SUCCESSFUL


def _any_run_yet() -> bool:
    """Whether the scheduler thread has recorded a run; on SQLite's in-memory test database a write in that thread
    locks the table for a moment, and a read meeting the lock is just asked again."""
    try:
        return PeriodicRun.objects.exists()
    except OperationalError:
        return False


@transactional_db
def test_the_scheduler_thread_ticks_until_stopped(monkeypatch):
    jobs = [EVERY_HOUR]
    monkeypatch.setattr(scheduling, "registered_jobs", lambda: jobs)
    scheduler = scheduling.SchedulerThread(worker_id="thread-1", interval=0.05)

    scheduler.start()
    try:
        for _ in range(200):
            if _any_run_yet():
                break
            threading.Event().wait(0.05)
    finally:
        scheduler.stop()

    assert not scheduler.is_alive()
    assert list(PeriodicRun.objects.values_list("job", "worker_id")) == [("echo_hourly", "thread-1")]


@transactional_db
def test_the_registered_jobs_call_the_ledger_and_record_json_results(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: utc(2026, 3, 10, 9, 41, 30))

    call_command("worker", batch=True, startup_delay=False, verbosity=0)

    results = {r.task_path.rsplit(".", 1)[1]: r for r in DBTaskResult.objects.all()}
    assert {name: r.status for name, r in results.items()} == {
        "nightly_expiry": TaskResultStatus.SUCCESSFUL,
        "release_expired_holds": TaskResultStatus.SUCCESSFUL,
        "prune_periodic_results": TaskResultStatus.SUCCESSFUL,
        "advance_campaign_schedule": TaskResultStatus.SUCCESSFUL,
        "birthdays": TaskResultStatus.SUCCESSFUL,
        "review_tiers": TaskResultStatus.SUCCESSFUL,
        "deliver_messages": TaskResultStatus.SUCCESSFUL,
        "nightly_snapshots": TaskResultStatus.SUCCESSFUL,
        "compute_snapshot": TaskResultStatus.SUCCESSFUL,
    }
    assert results["deliver_messages"].return_value == 0
    assert len(results["nightly_snapshots"].return_value) == len(FORMS)
    # an empty programme: some analytics refuse (too few members), each recorded on its snapshot
    assert results["compute_snapshot"].return_value in ("done", "failed")
    assert results["nightly_expiry"].return_value == {"lots": 0, "points": 0, "accounts": 0}
    assert results["advance_campaign_schedule"].return_value == {"started": 0, "finished": 0}
    assert results["birthdays"].return_value == 0
    assert results["review_tiers"].return_value == 0
    assert results["release_expired_holds"].return_value == 0


@pytest.mark.django_db
def test_pruning_keeps_recent_and_other_queues_results():
    slot = utc(2026, 3, 10, 1, 0)

    def finished(queue: str, status: str, age_days: int) -> DBTaskResult:
        result = DBTaskResult.objects.get(pk=(add.using(queue_name=queue).enqueue(1, 1)).id)
        DBTaskResult.objects.filter(pk=result.pk).update(
            status=status, finished_at=slot - timedelta(days=age_days)
        )
        return result

    finished("periodic", TaskResultStatus.SUCCESSFUL, 15)
    finished("periodic", TaskResultStatus.FAILED, 91)
    kept = [
        finished("periodic", TaskResultStatus.SUCCESSFUL, 13),
        finished("periodic", TaskResultStatus.FAILED, 89),
        finished("default", TaskResultStatus.SUCCESSFUL, 400),
    ]

    deleted = tasks.prune_periodic_results.call(slot=slot.isoformat())

    assert deleted == 2
    remaining = set(DBTaskResult.objects.values_list("pk", flat=True))
    assert remaining == {r.pk for r in kept}
