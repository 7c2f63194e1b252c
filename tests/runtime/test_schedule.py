import importlib
from datetime import UTC, datetime

from django_tasks.base import Task

from kopilka.core.scheduling import PERIODIC_QUEUE
from kopilka.runtime.schedule import SCHEDULE
from tests.imports import modules


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_the_schedule_lists_each_job_once_and_reads_the_nightly_time_from_settings_at_each_tick(settings):
    jobs = {job.name: job for job in SCHEDULE}
    assert list(jobs) == [
        "nightly_expiry",
        "release_expired_holds",
        "prune_periodic_results",
        "prune_idempotency",
        "advance_campaign_schedule",
        "birthdays",
        "review_tiers",
        "deliver_messages",
        "deliver_webhooks",
        "prune_outbox",
        "personal_notices",
        "points_expiring",
        "advance_mailings",
        "run_journeys",
        "nightly_snapshots",
    ]
    assert len(SCHEDULE) == len(jobs)
    settings.KOPILKA = {**settings.KOPILKA, "NIGHTLY_EXPIRY_AT": "04:15", "TIME_ZONE": "Europe/Moscow"}
    assert jobs["nightly_expiry"].latest_slot(utc(2026, 3, 10, 12)) == utc(2026, 3, 10, 1, 15)
    assert jobs["release_expired_holds"].latest_slot(utc(2026, 3, 10, 12, 0, 59)) == utc(2026, 3, 10, 12)
    assert {job.task.queue_name for job in SCHEDULE} == {PERIODIC_QUEUE}


def test_every_periodic_task_the_apps_define_is_in_the_schedule():
    """A task written for the periodic queue but left out of the table would never run."""
    defined = set()
    for name in modules():  # the apps' `tasks` modules, and the scheduler's own
        if name.endswith(".tasks") or name in ("kopilka.core.scheduling", "kopilka.core.retention"):
            module = importlib.import_module(name)
            tasks = [value for value in vars(module).values() if isinstance(value, Task)]
            periodic = [t for t in tasks if t.func.__module__ == name and t.queue_name == PERIODIC_QUEUE]
            defined |= {t.module_path for t in periodic}
    scheduled = {job.task.module_path for job in SCHEDULE}
    assert defined == scheduled
    assert len(scheduled) == 15
