"""The programme's periodic tasks and their schedule (enqueued by core/scheduling.py, run by the worker).

Each periodic task is called with `slot`, the ISO 8601 moment its run is for (see PeriodicJob).
"""

import dataclasses
import json
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django_tasks import TaskResultStatus, task
from django_tasks_db.models import DBTaskResult

from kopilka.core import clock
from kopilka.core.scheduling import DailyAt, Every, register

PERIODIC_QUEUE = "periodic"
# How long the periodic queue's finished results stay for inspection (a 60-second job leaves 1,440 a day).
KEEP_SUCCESSFUL = timedelta(days=14)
KEEP_FAILED = timedelta(days=90)


def _json_summary(result) -> object:
    """A task's return value must be JSON: dataclasses become dicts, dates and decimals become strings."""
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        result = dataclasses.asdict(result)
    elif hasattr(result, "_asdict"):
        result = result._asdict()
    return json.loads(json.dumps(result, default=str))


@task(queue_name=PERIODIC_QUEUE)
def nightly_expiry(slot: str) -> object:
    """Burn what expired by the nightly run's moment (the slot, not the time the worker got to it)."""
    from kopilka.ledger.services import expire

    return _json_summary(expire(as_of=datetime.fromisoformat(slot)))


@task(queue_name=PERIODIC_QUEUE)
def release_expired_holds(slot: str) -> int:
    """Release holds whose time ran out by now; returns how many were released."""
    from kopilka.ledger.services import release_expired_holds as release

    return release(now=clock.now())


@task(queue_name=PERIODIC_QUEUE)
def prune_periodic_results(slot: str) -> int:
    """Delete the periodic queue's results older than their keeping time; returns how many were deleted."""
    cutoff = datetime.fromisoformat(slot)
    expired = Q(status=TaskResultStatus.SUCCESSFUL, finished_at__lt=cutoff - KEEP_SUCCESSFUL) | Q(
        status=TaskResultStatus.FAILED, finished_at__lt=cutoff - KEEP_FAILED
    )
    deleted, _ = DBTaskResult.objects.filter(expired, queue_name=PERIODIC_QUEUE).delete()
    return deleted


def _nightly_expiry_schedule() -> DailyAt:
    return DailyAt(settings.KOPILKA["NIGHTLY_EXPIRY_AT"])


register("nightly_expiry", nightly_expiry, schedule=_nightly_expiry_schedule)
register("release_expired_holds", release_expired_holds, schedule=Every(seconds=60))
register("prune_periodic_results", prune_periodic_results, schedule=DailyAt("04:00"))
