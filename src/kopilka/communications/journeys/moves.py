"""Moving visits on: a step taken is its log row and the visit's arrival at the next step, written together.

Arriving at a step sets what the worker needs to know of it: a wait is `waiting` until its end, a wait for an event
`waiting` for the event until the timeout; any other step is `active` and due at once. Arriving nowhere (a step
without a next one) ends the visit as `done`; the exit step ends it as `exited`.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import connection

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


# The visits at a step whose time has come, oldest first: "<version> <step> <now> <how many>".
DUE = ("version_id = %s AND step = %s AND status IN ('active', 'waiting') AND wake_at <= %s ORDER BY id LIMIT %s")


def skip_locked() -> str:
    """PostgreSQL: lock the rows read, passing over those another worker holds (SQLite has one writer)."""
    return " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""


def claim_and_move(version_id: int, step_id: str, now: datetime, batch: int,
                   target: Arrival) -> list[tuple[int, int]]:
    """Claim up to `batch` due visits at the step and move them to `target`, in one statement; returns them as (id,
    member id)."""
    found = sql.rows(
        f"UPDATE {_STATES} SET status = %s, step = %s, step_since = %s, wake_at = %s, waits_for = %s,"
        f" event_at = NULL, left_at = %s WHERE id IN (SELECT id FROM {_STATES} WHERE {DUE}{skip_locked()})"
        f" RETURNING id, member_id",
        [*_arriving(target, now), version_id, step_id, sql.at(now), batch])
    return [(row[0], row[1]) for row in found]


def log(state_ids: Sequence[int], step: Step, outcome: str, now: datetime) -> None:
    """The log rows of the visits `state_ids` that took `step` with `outcome`. A step taken before by one of them
    fails the whole statement (the log is unique per visit and step)."""
    if state_ids:
        rows.write(f"INSERT INTO {_LOG} (state_id, step, outcome, taken_at)"
                   f" SELECT id, %s, %s, %s FROM ({rows.id_rows()}) t",
                   [step.id, outcome, sql.at(now), rows.ids(state_ids)])


def take(state_ids: Sequence[int], step: Step, outcome: str, target: Arrival, now: datetime) -> None:
    """The visits `state_ids` took `step` with `outcome` and arrive at `target`: their log rows and the move."""
    if state_ids:
        log(state_ids, step, outcome, now)
        move(state_ids, target, now)


def take_one(state_id: int, step: Step, outcome: str, target: Arrival, now: datetime, *,
             points: int | None = None, refused: int | None = None) -> None:
    JourneyStep.objects.create(state_id=state_id, step=step.id, outcome=outcome, points=points, refused=refused,
                               taken_at=now)
    move([state_id], target, now)


def move(state_ids: Sequence[int], target: Arrival, now: datetime) -> None:
    rows.write(
        f"UPDATE {_STATES} SET status = %s, step = %s, step_since = %s, wake_at = %s, waits_for = %s, event_at = NULL,"
        f" left_at = %s WHERE {rows.in_ids('id')}", [*_arriving(target, now), rows.ids(state_ids)])


def _arriving(target: Arrival, now: datetime) -> list:
    """The values of a move's SET, in its order."""
    return [target.status, target.step, sql.at(now), sql.at(target.wake_at) if target.wake_at else None,
            target.waits_for, sql.at(target.left_at) if target.left_at else None]
