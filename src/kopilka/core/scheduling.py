"""Periodic jobs: their schedules, and the tick that enqueues each job once per slot.

Which jobs exist is not decided here: the worker passes its table of jobs (`kopilka.runtime.schedule`) to
every tick. A slot is the aware moment a run is for: "today 03:00 Moscow" for a daily job, a multiple of N
seconds since the Unix epoch for an interval job. Invariants:
- a (job, slot) pair is enqueued at most once across every worker sharing the database: the unique PeriodicRun
  row is the claim, inserted in the same transaction as the task, and only the worker whose insert succeeds
  enqueues;
- a tick looks only at the latest slot <= now, so a worker that starts after missed slots runs the job once;
- periodic tasks run on the PERIODIC_QUEUE, whose finished results are pruned after their keeping time.
"""

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from django.db import IntegrityError, close_old_connections, connection, transaction
from django.db.models import Q
from django_tasks import TaskResultStatus, task
from django_tasks.base import Task
from django_tasks_db.models import DBTaskResult

from kopilka.core import clock
from kopilka.core.models import PeriodicRun

logger = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Runs older than this are deleted by the worker that claims a newer slot of the same job.
RUN_RETENTION = timedelta(days=30)
PERIODIC_QUEUE = "periodic"
# How long the periodic queue's finished results stay for inspection (a 60-second job leaves 1,440 a day).
KEEP_SUCCESSFUL = timedelta(days=14)
KEEP_FAILED = timedelta(days=90)


class Schedule(Protocol):
    def latest_slot(self, now: datetime) -> datetime:
        """The latest slot at or before `now`, in UTC."""
        ...


@dataclass(frozen=True)
class DailyAt:
    """Once a day at wall-clock `at` ("HH:MM") in `time_zone`; the programme's time zone when None."""

    at: str
    time_zone: str | None = None

    def __post_init__(self) -> None:
        time.fromisoformat(self.at)  # a malformed time fails here, not at the first tick

    def latest_slot(self, now: datetime) -> datetime:
        tz = ZoneInfo(self.time_zone) if self.time_zone else clock.programme_tz()
        wall = time.fromisoformat(self.at)
        today = now.astimezone(tz).date()
        slot = datetime.combine(today, wall, tzinfo=tz).astimezone(UTC)
        if slot > now.astimezone(UTC):
            slot = datetime.combine(today - timedelta(days=1), wall, tzinfo=tz).astimezone(UTC)
        return slot


@dataclass(frozen=True)
class Every:
    """Every `seconds`, on multiples of it since the Unix epoch, so every worker computes the same slots."""

    seconds: int

    def __post_init__(self) -> None:
        if self.seconds <= 0:
            raise ValueError("an interval must be a positive number of seconds")

    def latest_slot(self, now: datetime) -> datetime:
        step = timedelta(seconds=self.seconds)
        return EPOCH + ((now - EPOCH) // step) * step


@dataclass(frozen=True)
class PeriodicJob:
    """A task enqueued once per slot of its schedule, called with `slot=<ISO 8601 of the slot>`.

    `schedule` may be a function returning the schedule; it is called at every tick, so a schedule read from
    settings follows them.
    """

    name: str
    task: Task
    schedule: Schedule | Callable[[], Schedule]

    def latest_slot(self, now: datetime) -> datetime:
        schedule = self.schedule() if callable(self.schedule) else self.schedule
        return schedule.latest_slot(now)


def claim(job: PeriodicJob, slot: datetime, worker_id: str) -> PeriodicRun | None:
    """Insert the run for (job, slot) and enqueue its task in one transaction; None if another worker did."""
    if PeriodicRun.objects.filter(job=job.name, slot=slot).exists():
        return None
    with transaction.atomic():
        try:
            with transaction.atomic():
                run = PeriodicRun.objects.create(job=job.name, slot=slot, worker_id=worker_id)
        except IntegrityError:
            return None
        result = job.task.enqueue(slot=slot.isoformat())
        run.task_result_id = str(result.id)
        run.save(update_fields=["task_result_id"])
        PeriodicRun.objects.filter(job=job.name, slot__lt=slot - RUN_RETENTION).delete()
    logger.info("Enqueued periodic job %s for slot %s (worker %s)", job.name, slot.isoformat(), worker_id)
    return run


def tick(*, worker_id: str, jobs: Iterable[PeriodicJob], now: datetime | None = None) -> list[PeriodicRun]:
    """Claim the latest slot of each of `jobs` that has no run for it yet; returns the runs this call claimed.

    A job that fails (a bad schedule setting, a lost connection) is logged and does not stop the others.
    """
    now = now or clock.now()
    claimed = []
    for job in jobs:
        try:
            run = claim(job, job.latest_slot(now), worker_id)
        except Exception:
            logger.exception("Periodic job %s could not be scheduled", job.name)
            continue
        if run is not None:
            claimed.append(run)
    return claimed


class SchedulerThread(threading.Thread):
    """Ticks `jobs` every `interval` seconds until stopped, beside a worker that runs the enqueued tasks."""

    def __init__(self, *, worker_id: str, jobs: Iterable[PeriodicJob], interval: float):
        super().__init__(name="kopilka-scheduler", daemon=True)
        self.worker_id = worker_id
        self.jobs = tuple(jobs)
        self.interval = interval
        self._stopped = threading.Event()

    def run(self) -> None:
        try:
            while not self._stopped.is_set():
                close_old_connections()
                try:
                    tick(worker_id=self.worker_id, jobs=self.jobs)
                except Exception:
                    logger.exception("Scheduler tick failed; retrying in %s s", self.interval)
                self._stopped.wait(self.interval)
        finally:
            connection.close()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopped.set()
        if self.is_alive():
            self.join(timeout)


@task(queue_name=PERIODIC_QUEUE)
def prune_periodic_results(slot: str) -> int:
    """Delete the periodic queue's results older than their keeping time; returns how many were deleted."""
    cutoff = datetime.fromisoformat(slot)
    expired = Q(status=TaskResultStatus.SUCCESSFUL, finished_at__lt=cutoff - KEEP_SUCCESSFUL) | Q(
        status=TaskResultStatus.FAILED, finished_at__lt=cutoff - KEEP_FAILED
    )
    deleted, _ = DBTaskResult.objects.filter(expired, queue_name=PERIODIC_QUEUE).delete()
    return deleted
