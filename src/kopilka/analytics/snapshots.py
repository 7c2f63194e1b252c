"""Computing analytics in the background: request a snapshot, let the worker compute it, read the newest.

- `request` reuses a snapshot of the same kind and parameters that is queued, running, or done within its
  freshness; otherwise it records a new one and enqueues its computation in the same transaction.
- `compute` claims a queued snapshot (one worker wins), reports progress as it goes (percent and step), and ends
  it done with its result or failed with the error; results are computed in English (labels are message ids)
  and translated when shown.
"""

import hashlib
import json
import logging
from collections.abc import Callable
from datetime import timedelta

from django.db import transaction
from django.utils import translation

from kopilka.analytics.models import Snapshot
from kopilka.core import clock
from kopilka.core.errors import ApplicationError

logger = logging.getLogger(__name__)

Progress = Callable[[int, str], None]
Producer = Callable[[dict, Progress], dict]
_producers: dict[str, Producer] = {}
FRESH_FOR = timedelta(hours=1)


def producer(kind: str):
    """Register the function that computes snapshots of `kind`: (params, progress) -> result (JSON-ready)."""

    def register(function: Producer) -> Producer:
        _producers[kind] = function
        return function

    return register


def _registry() -> dict[str, Producer]:
    import kopilka.analytics.producers  # noqa: F401 - registers the producers (numpy, scikit-learn: loaded late)

    return _producers


def kinds() -> list[str]:
    return list(_registry())


def digest(kind: str, params: dict) -> str:
    return hashlib.sha256(json.dumps([kind, params], sort_keys=True, default=str).encode()).hexdigest()


def latest(kind: str, params: dict, *, done: bool = False) -> Snapshot | None:
    found = Snapshot.objects.filter(kind=kind, digest=digest(kind, params))
    if done:
        found = found.filter(status=Snapshot.Status.DONE)
    return found.order_by("-requested_at", "-id").first()


def request(kind: str, params: dict, actor: str, *, fresh_for: timedelta = FRESH_FOR) -> Snapshot:
    """The snapshot that answers (kind, params): one under way or fresh enough, else a new one queued."""
    if kind not in _registry():
        raise KeyError(kind)
    params = json.loads(json.dumps(params, default=str))
    current = latest(kind, params)
    if current and (not current.finished or (current.status == Snapshot.Status.DONE
                                             and clock.now() - current.finished_at < fresh_for)):
        return current
    from kopilka.analytics.tasks import compute_snapshot

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
            result = _registry()[snapshot.kind](snapshot.params, progress)
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


def _message(error: Exception) -> str:
    message = getattr(error, "message", None) or str(error) or type(error).__name__
    return str(message)[:2000]
