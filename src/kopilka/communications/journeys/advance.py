"""The worker's part: visits whose time has come take their step, a batch of visits at one step at a time.

A batch is claimed with its rows locked (PostgreSQL: FOR UPDATE SKIP LOCKED, so workers running at once take
different visits) and its step taken in one transaction together with everything it writes: the log rows, the
messages, the points, the tags, the move to the next step. A worker killed mid-batch leaves nothing of it: the
batch is taken again whole, by the next run; no visit is lost and none takes a step twice (the log is unique per
visit and step). Batches are of one version and step, so most steps are a few statements for the whole batch;
only rewards and tags go member by member, through the services that own them (campaigns, customers).

Journeys paused or in draft do not move; finished ones let the members inside go on to their end.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction

from kopilka.campaigns import conditions
from kopilka.campaigns.eligibility import eligible_members
from kopilka.campaigns.events import record_event
from kopilka.communications.journeys import moves, rows, sending
from kopilka.communications.journeys.graph import (
    MOST_STEPS,
    ORDERED_SINCE_ENTRY,
    Graph,
    Step,
    parse_graph,
    split_shares,
)
from kopilka.communications.journeys.models import Journey, JourneyState, JourneyVersion
from kopilka.communications.journeys.moves import arrival, take, take_one
from kopilka.core import holdout, sql
from kopilka.core.errors import ApplicationError
from kopilka.customers import services as members
from kopilka.customers.models import Tag
from kopilka.orders.models import COUNTED_STATUSES, Order

BATCH = 5_000
MOVING = (Journey.Status.LIVE, Journey.Status.FINISHED)
_STATES, _ORDERS = JourneyState._meta.db_table, Order._meta.db_table
_COUNTED = ", ".join(f"'{status}'" for status in COUNTED_STATUSES)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Claimed:
    """A batch: the visits (id, member id, the moment the awaited event came or None), locked."""

    state_ids: list[int]
    member_of: dict[int, int]
    event_at: dict[int, object]


def advance(now: datetime, *, batch: int = BATCH) -> int:
    """Take every due step, batch by batch, until none is due at `now` (a visit moved on may be due again at once:
    a chain of steps runs in one call, at most one round per step a graph may have); returns how many steps were
    taken. A step that fails (e.g. its template was deleted) leaves its visits where they are, and is logged."""
    taken = 0
    for _round in range(MOST_STEPS + 1):
        groups = _due_groups(now)
        if not groups:
            break
        moved = 0
        for version_id, step_id in groups:
            version = JourneyVersion.objects.select_related("journey").get(pk=version_id)
            graph = parse_graph(version.graph)
            while True:
                try:
                    done = _take_batch(version, graph, graph.steps[step_id], now, batch)
                except ApplicationError as failed:
                    log.warning("journey %s, step %s: %s", version.journey.code, step_id, failed.message)
                    break
                moved += done
                if done < batch:
                    break
        taken += moved
        if not moved:
            break
    return taken


def _due_groups(now: datetime) -> list[tuple[int, str]]:
    journeys = Journey._meta.db_table
    statuses = ", ".join(f"'{status}'" for status in MOVING)
    return [(version_id, step) for version_id, step in sql.rows(
        f"SELECT DISTINCT s.version_id, s.step FROM {_STATES} s JOIN {journeys} j ON j.id = s.journey_id"
        f" WHERE s.status IN ('active', 'waiting') AND s.wake_at <= %s AND j.status IN ({statuses})"
        f" ORDER BY s.version_id, s.step", [sql.at(now)])]


def _take_batch(version: JourneyVersion, graph: Graph, step: Step, now: datetime, batch: int) -> int:
    with transaction.atomic():
        rows.uncompiled()
        if step.kind in _ONE_WAY:
            return _take_one_way(version, graph, step, now, batch)
        claimed = _claim(version.pk, step.id, now, batch)
        if claimed.state_ids:
            _TAKERS[step.kind](version.journey, graph, step, claimed, now)
        return len(claimed.state_ids)


def _take_one_way(version: JourneyVersion, graph: Graph, step: Step, now: datetime, batch: int) -> int:
    """A step with one way on (send, wait, exit): the batch is claimed and moved on by one statement, then what
    the step writes and its log rows are added in the same transaction."""
    if step.kind == "exit":
        outcome, target = "exited", arrival(None, now, ends_as=JourneyState.Status.EXITED)
    else:
        outcome = step.exits[0][0]
        target = _next(graph, step, outcome, now)
    template = sending.template_for(step.template) if step.kind == "send" else None
    visits = moves.claim_and_move(version.pk, step.id, now, batch, target)
    if template is not None:
        sending.write_messages(visits, step.id, template, now)
    moves.log([state_id for state_id, _member in visits], step, outcome, now)
    return len(visits)


def _claim(version_id: int, step_id: str, now: datetime, batch: int) -> Claimed:
    found = sql.rows(
        f"SELECT id, member_id, event_at FROM {_STATES} WHERE {moves.DUE}{moves.skip_locked()}",
        [version_id, step_id, sql.at(now), batch])
    return Claimed([row[0] for row in found], {row[0]: row[1] for row in found},
                   {row[0]: row[2] for row in found})


def _next(graph: Graph, step: Step, outcome: str, now: datetime):
    target = step.next_of(outcome)
    return arrival(graph.steps[target] if target else None, now)


def _wait_event(journey: Journey, graph: Graph, step: Step, claimed: Claimed, now: datetime) -> None:
    came = [state_id for state_id in claimed.state_ids if claimed.event_at[state_id] is not None]
    late = [state_id for state_id in claimed.state_ids if claimed.event_at[state_id] is None]
    take(came, step, "event", _next(graph, step, "event", now), now)
    take(late, step, "timeout", _next(graph, step, "timeout", now), now)


def _branch(journey: Journey, graph: Graph, step: Step, claimed: Claimed, now: datetime) -> None:
    assert step.condition is not None
    yes = _ordered_since_entry(claimed.state_ids, now) if step.condition["kind"] == ORDERED_SINCE_ENTRY else \
        _matching(claimed, step.condition["tree"], now)
    take([s for s in claimed.state_ids if s in yes], step, "yes", _next(graph, step, "yes", now), now)
    take([s for s in claimed.state_ids if s not in yes], step, "no", _next(graph, step, "no", now), now)


def _ordered_since_entry(state_ids: Sequence[int], now: datetime) -> set[int]:
    """The visits whose member has a counted order from their entry up to `now`."""
    return {row[0] for row in sql.rows(
        f"SELECT s.id FROM {_STATES} s WHERE {rows.in_ids('s.id')} AND EXISTS (SELECT 1 FROM {_ORDERS} o"
        f" WHERE o.member_id = s.member_id AND o.status IN ({_COUNTED}) AND o.purchased_at >= s.entered_at"
        f" AND o.purchased_at <= %s)", [rows.ids(state_ids), sql.at(now)])}


def _matching(claimed: Claimed, tree: dict, now: datetime) -> set[int]:
    """The visits whose member matches the conditions tree at `now`."""
    matching = set(eligible_members(conditions.parse(tree), now)
                   .filter(pk__in=sorted(set(claimed.member_of.values()))).values_list("pk", flat=True))
    return {state_id for state_id, member_id in claimed.member_of.items() if member_id in matching}


def _split(journey: Journey, graph: Graph, step: Step, claimed: Claimed, now: datetime) -> None:
    """Each member's path by their bucket of the hash salted with the journey and step: stable for the member."""
    salted = holdout.salt_of(f"journey:{journey.code}:{step.id}")
    paths: dict[str, list[int]] = {outcome: [] for outcome, _share in split_shares(step)}
    for state_id, member_id in claimed.member_of.items():
        place, below = holdout.bucket(member_id, salted), 0
        for outcome, share in split_shares(step):
            below += holdout.threshold(Decimal(share))
            if place < below:
                paths[outcome].append(state_id)
                break
    for outcome, state_ids in paths.items():
        take(state_ids, step, outcome, _next(graph, step, outcome, now), now)


def _accrue(journey: Journey, graph: Graph, step: Step, claimed: Claimed, now: datetime) -> None:
    """Each member's reward is the member event the step records: the live campaigns rewarding it grant points
    under the lock order, within their budgets and limits; what they wanted and could not grant is `refused`."""
    target = _next(graph, step, "granted", now)
    for state_id, member_id in claimed.member_of.items():
        outcome = record_event(member_id=member_id, type=step.event, key=f"journey:{state_id}:{step.id}",
                               actor=f"journey:{journey.code}", occurred_at=now)
        refused = sum(d.desired - d.granted for d in outcome.decisions if d.desired > d.granted)
        take_one(state_id, step, "granted", target, now, points=outcome.event.points, refused=refused)


def _tag(journey: Journey, graph: Graph, step: Step, claimed: Claimed, now: datetime) -> None:
    target = _next(graph, step, "tagged", now)
    for state_id, member_id in claimed.member_of.items():
        have = set(Tag.objects.filter(members=member_id).values_list("code", flat=True))
        wanted = have - {step.tag} if step.remove else have | {step.tag}
        if wanted != have:
            members.update_member(member_id=member_id, actor=f"journey:{journey.code}", tags=sorted(wanted))
        take_one(state_id, step, "tagged", target, now)


_ONE_WAY = ("send", "wait", "exit")
_TAKERS = {"wait_event": _wait_event, "branch": _branch, "split": _split, "accrue": _accrue, "tag": _tag}
