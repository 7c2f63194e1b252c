"""The steps members' visits took, as `journey.step` outbox events built afterwards from the log rows
(`JourneyStep`): the worker's step stays as fast as it is — nothing is added to its transaction.

A pass reads the steps past the cursor (the `JourneyCursor` of source "steps", moved by `settled_cursor`: none lost
when ids commit out of order) and records one event per step, once per step (its key, "journey.step:<id>").
"""

from django.db import transaction

from kopilka.communications import settled_cursor
from kopilka.communications.journeys.models import Journey, JourneyCursor, JourneyState, JourneyStep, JourneyVersion
from kopilka.core import outbox, sql

EVENT = "journey.step"
KEY_PREFIX = f"{EVENT}:"  # + the log row's id (the payload's `taken_id`)
SOURCE = "steps"  # the cursor's `source`

_STEPS = f"""
SELECT t.id, s.member_id, j.code, s.version_id, v.number, t.state_id, t.step, t.outcome, t.points, t.refused,
       t.taken_at
FROM {JourneyStep._meta.db_table} t
JOIN {JourneyState._meta.db_table} s ON s.id = t.state_id
JOIN {JourneyVersion._meta.db_table} v ON v.id = s.version_id
JOIN {Journey._meta.db_table} j ON j.id = s.journey_id
WHERE t.id > %s ORDER BY t.id LIMIT %s
"""


def steps_to_events() -> int:
    """One pass over the steps past the cursor, under its lock (one pass at a time); returns how many events were
    new."""
    JourneyCursor.objects.get_or_create(source=SOURCE)
    with transaction.atomic():
        cursor = JourneyCursor.objects.select_for_update().get(source=SOURCE)
        rows = settled_cursor.advance(cursor, settled_cursor.pages_of(_STEPS))
        kinds = _step_kinds({row[3] for row in rows})
        recorded = outbox.record_once(_event(row, kinds) for row in rows)
        cursor.save()
    return recorded


def _step_kinds(version_ids: set[int]) -> dict[tuple[int, str], str]:
    """(version id, step id) → the step's kind in that version's graph (which no longer changes once a member
    entered it)."""
    graphs = JourneyVersion.objects.filter(pk__in=sorted(version_ids)).values_list("pk", "graph")
    return {(version_id, step_id): step.get("kind", "")
            for version_id, graph in graphs for step_id, step in graph["steps"].items()}


def _event(row: tuple, kinds: dict[tuple[int, str], str]) -> tuple[str, str, str, dict, object]:
    step_row_id, member_id, journey, version_id, number, state_id, step, outcome, points, refused, taken_at = row
    at = sql.moment(taken_at)
    payload = {"taken_id": step_row_id, "member_id": member_id, "journey": journey, "version": number,
               "visit_id": state_id,
               "step_id": step, "step_kind": kinds.get((version_id, step), ""), "outcome": outcome, "taken_at": at}
    if points is not None:
        payload["points"] = points
    if refused is not None:
        payload["refused"] = refused
    return f"{KEY_PREFIX}{step_row_id}", EVENT, f"member:{member_id}", payload, at
