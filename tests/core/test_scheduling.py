import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import OperationalError, connection
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from kopilka.core import clock, scheduling
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


# --- the scheduler thread


def _any_run_yet() -> bool:
    """Whether the scheduler thread has recorded a run; on SQLite's in-memory test database a write in that
    thread locks the table for a moment, and a read meeting the lock is just asked again."""
    try:
        return PeriodicRun.objects.exists()
    except OperationalError:
        return False


@transactional_db
def test_the_scheduler_thread_ticks_until_stopped():
    scheduler = scheduling.SchedulerThread(worker_id="thread-1", jobs=[EVERY_HOUR], interval=0.05)

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


# --- housekeeping


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

    deleted = scheduling.prune_periodic_results.call(slot=slot.isoformat())

    assert deleted == 2
    remaining = set(DBTaskResult.objects.values_list("pk", flat=True))
    assert remaining == {r.pk for r in kept}
