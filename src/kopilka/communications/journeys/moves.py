"""Moving visits on: a step taken is its log row and the visit's arrival at the next step, written together.

Arriving at a step sets what the worker needs to know of it: a wait is `waiting` until its end, a wait for an event
`waiting` for the event until the timeout; any other step is `active` and due at once. Arriving nowhere (a step
without a next one) ends the visit as `done`; the exit step ends it as `exited`.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from kopilka.communications.journeys import rows
from kopilka.communications.journeys.graph import Step
from kopilka.communications.journeys.models import JourneyState, JourneyStep
from kopilka.core import sql

_STATES, _LOG = JourneyState._meta.db_table, JourneyStep._meta.db_table
Status = JourneyState.Status


@dataclass(frozen=True)
class Arrival:
    status: str
    step: str
    wake_at: datetime | None
    waits_for: str
    left_at: datetime | None


def arrival(step: Step | None, now: datetime, *, ends_as: str = Status.DONE) -> Arrival:
    """Where a visit stands on arriving at `step` at `now` (None: it ends, as `ends_as`)."""
    if step is None:
        return Arrival(ends_as, "", None, "", now)
    if step.kind == "wait":
        return Arrival(Status.WAITING, step.id, now + step.wait, "", None)
    if step.kind == "wait_event":
        return Arrival(Status.WAITING, step.id, now + step.wait, step.event, None)
    return Arrival(Status.ACTIVE, step.id, now, "", None)


def take(state_ids: Sequence[int], step: Step, outcome: str, target: Arrival, now: datetime) -> None:
    """The visits `state_ids` took `step` with `outcome` and arrive at `target`: their log rows, then the move. A
    step taken before by one of them fails the whole statement (the log is unique per visit and step)."""
    if not state_ids:
        return
    rows.write(f"INSERT INTO {_LOG} (state_id, step, outcome, taken_at)"
               f" SELECT id, %s, %s, %s FROM ({rows.id_rows()}) t",
               [step.id, outcome, sql.at(now), rows.ids(state_ids)])
    move(state_ids, target, now)


def take_one(state_id: int, step: Step, outcome: str, target: Arrival, now: datetime, *,
             points: int | None = None, refused: int | None = None) -> None:
    JourneyStep.objects.create(state_id=state_id, step=step.id, outcome=outcome, points=points, refused=refused,
                               taken_at=now)
    move([state_id], target, now)


def move(state_ids: Sequence[int], target: Arrival, now: datetime) -> None:
    rows.write(
        f"UPDATE {_STATES} SET status = %s, step = %s, step_since = %s, wake_at = %s, waits_for = %s, event_at = NULL,"
        f" left_at = %s WHERE {rows.in_ids('id')}",
        [target.status, target.step, sql.at(now), sql.at(target.wake_at) if target.wake_at else None,
         target.waits_for, sql.at(target.left_at) if target.left_at else None, rows.ids(state_ids)],
    )
