"""The ledger's periodic tasks: the nightly expiry and the release of holds whose time ran out.

Each is called with `slot`, the ISO 8601 moment its run is for; `kopilka.runtime.schedule` says when they run.
Results are JSON, as the task queue stores them.
"""

import dataclasses
import json
from datetime import datetime

from django_tasks import task

from kopilka.core import clock
from kopilka.core.scheduling import PERIODIC_QUEUE


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
