"""A journey drawn as a flow: each step a box (what it does, members waiting there now and having passed it), each
exit an arrow to the step it leads to, labelled with its outcome. Steps are laid out in columns by the longest way
from the first step, so every arrow points right; the page draws the boxes and arrows as inline SVG."""

from dataclasses import dataclass

from django.utils.formats import number_format
from django.utils.translation import gettext as _

from kopilka.communications.journeys.graph import OUTBOX_EVENTS, STEP_KINDS, Graph, Step, split_shares
from kopilka.communications.journeys.selectors import StepCount

BOX_W, BOX_H, GAP_X, GAP_Y, MARGIN = 220, 88, 80, 28, 12


@dataclass(frozen=True)
class Box:
    id: str
    kind: str
    title: str
    what: str
    waiting: str
    passed: str
    x: int
    y: int


@dataclass(frozen=True)
class Arrow:
    path: str
    label: str
    label_x: int
    label_y: int


@dataclass(frozen=True)
class Flow:
    width: int
    height: int
    boxes: list[Box]
    arrows: list[Arrow]
    box_w: int = BOX_W
    box_h: int = BOX_H


def flow(graph: Graph, counts: dict[str, StepCount]) -> Flow:
    steps = graph.order()
    column = {graph.start: 0}
    for step in steps:  # in an order where every step comes after the steps leading to it
        for _outcome, target in step.exits:
            if target is not None:
                column[target] = max(column.get(target, 0), column[step.id] + 1)
    rows: dict[int, int] = {}
    place: dict[str, tuple[int, int]] = {}
    for step in steps:
        row = rows.get(column[step.id], 0)
        rows[column[step.id]] = row + 1
        place[step.id] = (MARGIN + column[step.id] * (BOX_W + GAP_X), MARGIN + row * (BOX_H + GAP_Y))
    boxes = [Box(step.id, str(STEP_KINDS[step.kind]), step.title or step.id, what(step),
                 _count(counts.get(step.id, StepCount(0, 0)).waiting),
                 _count(counts.get(step.id, StepCount(0, 0)).passed), *place[step.id]) for step in steps]
    arrows = []
    for step in steps:
        x, y = place[step.id]
        for outcome, target in step.exits:
            if target is None:
                continue
            tx, ty = place[target]
            x1, y1, x2, y2 = x + BOX_W, y + BOX_H // 2, tx, ty + BOX_H // 2
            middle = (x1 + x2) // 2
            arrows.append(Arrow(f"M{x1},{y1} C{middle},{y1} {middle},{y2} {x2 - 6},{y2}", outcome_label(outcome),
                                middle, (y1 + y2) // 2 - 4))
    width = MARGIN * 2 + (max(column.values()) + 1) * (BOX_W + GAP_X) - GAP_X
    height = MARGIN * 2 + max(rows.values()) * (BOX_H + GAP_Y) - GAP_Y
    return Flow(width, height, boxes, arrows)


def _count(n: int) -> str:
    return number_format(n, 0, force_grouping=True)


def outcome_label(outcome: str) -> str:
    """How an exit reads on its arrow ("" for the one way on)."""
    if outcome.startswith("path-"):
        return f"{outcome.rsplit(':', 1)[1]}\xa0%"
    return {"yes": _("yes"), "no": _("no"), "event": _("the event came"), "timeout": _("timed out")}.get(outcome, "")


def event_name(event: str) -> str:
    if event in OUTBOX_EVENTS:
        return str(OUTBOX_EVENTS[event])
    return _("member event “%(code)s”") % {"code": event.split(":", 1)[1]} if ":" in event else event


def what(step: Step) -> str:
    """One line of what the step does."""
    if step.kind == "send":
        return step.template
    if step.kind == "wait":
        return _("%(days)s d %(hours)s h") % {"days": step.wait.days, "hours": step.wait.seconds // 3600}
    if step.kind == "wait_event":
        return _("%(event)s, up to %(days)s d") % {"event": event_name(step.event), "days": step.wait.days}
    if step.kind == "branch":
        assert step.condition is not None
        return _("ordered since entering?") if step.condition["kind"] == "ordered_since_entry" else _("conditions")
    if step.kind == "split":
        return " / ".join(f"{share}\xa0%" for _outcome, share in split_shares(step))
    if step.kind == "accrue":
        return event_name(f"event:{step.event}")
    if step.kind == "tag":
        return f"− {step.tag}" if step.remove else f"+ {step.tag}"
    return ""
