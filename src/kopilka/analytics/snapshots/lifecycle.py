"""A snapshot's life: requested (or an existing one reused), computed by the worker, read by the pages.

- `request` reuses a snapshot of the same kind and parameters that is queued, running, or done within its
  freshness; otherwise it records a new one and enqueues its computation (`compute_snapshot`) in the same
  transaction.
- `compute` claims a queued snapshot (one worker wins), reports progress as it goes (percent and step), and
  ends it done with its result or failed with the error; results are computed in English (labels are
  message ids) and translated when shown. What each kind computes is the table `producers.PRODUCERS`.
- `request_standard` asks for the standard set: every page on the parameters it opens with
  (`params.defaults`), which the night computes so that the pages open at once in the morning.
"""

import hashlib
import json
import logging
from datetime import date, timedelta

from django.db import transaction
from django.utils import translation
from django_tasks import task

from kopilka.analytics.models import Snapshot
from kopilka.analytics.snapshots.params import FORMS, defaults
from kopilka.core import clock
from kopilka.core.errors import ApplicationError

logger = logging.getLogger(__name__)

FRESH_FOR = timedelta(hours=1)


def _producers() -> dict:
    """The table of producers, imported when first needed: it loads numpy (and its producers scikit-learn)."""
    from kopilka.analytics.snapshots.producers import PRODUCERS

    return PRODUCERS


def kinds() -> list[str]:
    return list(_producers())


def digest(kind: str, params: dict) -> str:
    return hashlib.sha256(json.dumps([kind, params], sort_keys=True, default=str).encode()).hexdigest()


def latest(kind: str, params: dict, *, done: bool = False) -> Snapshot | None:
    found = Snapshot.objects.filter(kind=kind, digest=digest(kind, params))
    if done:
        found = found.filter(status=Snapshot.Status.DONE)
    return found.order_by("-requested_at", "-id").first()


def request(kind: str, params: dict, actor: str, *, fresh_for: timedelta = FRESH_FOR) -> Snapshot:
    """The snapshot that answers (kind, params): one under way or fresh enough, else a new one queued."""
    if kind not in _producers():
        raise KeyError(kind)
    params = json.loads(json.dumps(params, default=str))
    current = latest(kind, params)
    if current and (not current.finished or (current.status == Snapshot.Status.DONE
                                             and clock.now() - current.finished_at < fresh_for)):
        return current
    with transaction.atomic():
        snapshot = Snapshot.objects.create(kind=kind, params=params, digest=digest(kind, params),
                                           requested_by=actor, requested_at=clock.now())
        compute_snapshot.enqueue(snapshot_id=snapshot.pk)
    return snapshot


def compute(snapshot_id: int) -> str:
    """Compute a queued snapshot; returns its final status (or its status as found when another worker has it)."""
    claimed = Snapshot.objects.filter(pk=snapshot_id, status=Snapshot.Status.QUEUED).update(
        status=Snapshot.Status.RUNNING, started_at=clock.now(), step="")
    if not claimed:
        return Snapshot.objects.values_list("status", flat=True).get(pk=snapshot_id)
    snapshot = Snapshot.objects.get(pk=snapshot_id)

    def progress(percent: int, step: str) -> None:
        Snapshot.objects.filter(pk=snapshot_id).update(progress=max(0, min(100, percent)), step=step[:200])

    with translation.override("en"):  # results and errors are kept in English and translated when shown
        try:
            result = _producers()[snapshot.kind](snapshot.params, progress)
        except Exception as error:  # a failed computation is recorded for the user, then logged
            if isinstance(error, ApplicationError):  # the data refused it (too few members...): no traceback
                logger.warning("analytics snapshot %s (%s) refused: %s", snapshot_id, snapshot.kind, error)
            else:
                logger.exception("analytics snapshot %s (%s) failed", snapshot_id, snapshot.kind)
            Snapshot.objects.filter(pk=snapshot_id).update(status=Snapshot.Status.FAILED, error=_message(error),
                                                           finished_at=clock.now())
            return Snapshot.Status.FAILED
    Snapshot.objects.filter(pk=snapshot_id).update(
        status=Snapshot.Status.DONE, progress=100, step="", finished_at=clock.now(),
        result=json.loads(json.dumps(result, default=str)))
    return Snapshot.Status.DONE


@task()
def compute_snapshot(snapshot_id: int) -> str:
    """The worker's side of `request`: compute the snapshot; returns its final status."""
    return compute(snapshot_id)


def request_standard(day: date, actor: str) -> list[Snapshot]:
    """A snapshot of every kind on its default parameters for `day` (their data end the day before)."""
    return [request(kind, defaults(kind, day), actor) for kind in FORMS]


def _message(error: Exception) -> str:
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    return str(message)[:2000]
