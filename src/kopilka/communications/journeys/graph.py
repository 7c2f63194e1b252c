"""A journey's entry and its steps, read from the JSON they are stored as and checked (pure: no database).

A graph is {"start": step id, "steps": {id: step}}; a step is one of

    send        {"template": code, "offers": [sku, ...], "next": id}
    wait        {"days": n, "hours": n, "next": id}
    wait_event  {"event": event, "timeout_days": n, "on_event": id, "on_timeout": id}
    branch      {"condition": {"kind": "ordered_since_entry"} | {"kind": "conditions", "tree": {...}},
                 "yes": id, "no": id}
    split       {"paths": [{"share": percent, "next": id}, ...]}       shares of whole percent adding up to 100
    accrue      {"event": event type code, "next": id}                  the campaigns rewarding that event grant
    tag         {"tag": code, "remove": false, "next": id}
    exit        {}

each with "kind" and an optional "title". A missing or null exit ends the visit there ("done"); "exit" ends it as
"exited". Invariants of a parsed graph: every exit names a step of the graph, every step is reached from the start,
and no way through it comes back to a step it passed (so every visit ends, and takes each step at most once).

An entry (trigger) is one of {"kind": "event", "event": event}, {"kind": "inactivity", "days": n},
{"kind": "segment", "tree": {...}}, {"kind": "schedule", "at": ISO moment, "tree": {...} or absent},
{"kind": "birthday"}. An event is "order.paid", "member.created", "tier.changed" or "event:<member event type>".

Every refusal is a ValidationFailed in the reader's language naming the step and field.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kopilka.campaigns import conditions
from kopilka.core.errors import ValidationFailed

STEP_ID_LENGTH = 40
MOST_STEPS = 50
MOST_DAYS = 365
OUTBOX_EVENTS = {
    "order.paid": gettext_lazy("a purchase (an order paid)"),
    "member.created": gettext_lazy("registration"),
    "tier.changed": gettext_lazy("a tier change"),
}
MEMBER_EVENT = "event:"  # + the code of a member event type (campaigns.EventType)
STEP_KINDS = {
    "send": gettext_lazy("send a message"),
    "wait": gettext_lazy("wait"),
    "wait_event": gettext_lazy("wait for an event"),
    "branch": gettext_lazy("branch"),
    "split": gettext_lazy("random split"),
    "accrue": gettext_lazy("accrue points"),
    "tag": gettext_lazy("tag"),
    "exit": gettext_lazy("exit"),
}
TRIGGER_KINDS = {
    "event": gettext_lazy("an event"),
    "inactivity": gettext_lazy("no purchase for a number of days"),
    "segment": gettext_lazy("entering a segment"),
    "schedule": gettext_lazy("at a moment, for a segment"),
    "birthday": gettext_lazy("birthday"),
}
ORDERED_SINCE_ENTRY = "ordered_since_entry"


@dataclass(frozen=True)
class Step:
    id: str
    kind: str
    title: str = ""
    template: str = ""
    offers: tuple[str, ...] = ()
    wait: timedelta = timedelta(0)  # wait: the pause; wait_event: the timeout
    event: str = ""  # wait_event: the event waited for; accrue: the member event recorded
    condition: dict | None = None  # branch
    tag: str = ""
    remove: bool = False
    exits: tuple[tuple[str, str | None], ...] = ()  # (outcome, next step id or None) in the order shown

    def next_of(self, outcome: str) -> str | None:
        return dict(self.exits)[outcome]


@dataclass(frozen=True)
class Graph:
    start: str
    steps: dict[str, Step] = field(default_factory=dict)

    def order(self) -> list[Step]:
        """The steps from the start, each after every step that leads to it."""
        seen: list[str] = []

        def visit(step_id: str) -> None:
            if step_id in seen:
                return
            for _outcome, target in self.steps[step_id].exits:
                if target is not None:
                    visit(target)
            seen.append(step_id)

        visit(self.start)
        return [self.steps[step_id] for step_id in reversed(seen)]


@dataclass(frozen=True)
class Trigger:
    kind: str
    event: str = ""
    days: int = 0
    tree: dict | None = None
    at: datetime | None = None


def _refuse(message: str, **details: Any) -> ValidationFailed:
    return ValidationFailed(message, code="journey_invalid", details=details)


def _whole(value: Any, low: int, high: int, where: str, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _refuse(_("%(where)s: %(name)s is a whole number from %(low)s to %(high)s.") % {
            "where": where, "name": name, "low": low, "high": high}, field=name)
    return value


def _text(value: Any, where: str, name: str, *, required: bool = True) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise _refuse(_("%(where)s: %(name)s is required.") % {"where": where, "name": name}, field=name)
    return value.strip()


def _event(value: Any, where: str) -> str:
    event = _text(value, where, "event")
    if event not in OUTBOX_EVENTS and not (event.startswith(MEMBER_EVENT) and len(event) > len(MEMBER_EVENT)):
        raise _refuse(_("%(where)s: unknown event %(event)s.") % {"where": where, "event": event}, field="event")
    return event


def _tree(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise _refuse(_("%(where)s: the conditions are required.") % {"where": where}, field="tree")
    try:
        conditions.parse(value)
    except (ValueError, TypeError, KeyError) as error:
        raise _refuse(_("%(where)s: the conditions cannot be read: %(error)s") % {"where": where, "error": error},
                      field="tree") from None
    return value


def parse_trigger(data: Any) -> Trigger:
    where = _("Entry")
    if not isinstance(data, dict) or data.get("kind") not in TRIGGER_KINDS:
        raise _refuse(_("Entry: choose how members enter."), field="kind")
    kind = data["kind"]
    if kind == "event":
        return Trigger(kind, event=_event(data.get("event"), where))
    if kind == "inactivity":
        return Trigger(kind, days=_whole(data.get("days"), 1, 3 * MOST_DAYS, where, "days"))
    if kind == "segment":
        return Trigger(kind, tree=_tree(data.get("tree"), where))
    if kind == "schedule":
        at = parse_datetime(data["at"]) if isinstance(data.get("at"), str) else None
        if at is None or at.tzinfo is None:
            raise _refuse(_("Entry: the moment is a date and time with its time zone."), field="at")
        tree = data.get("tree")
        return Trigger(kind, at=at, tree=None if tree is None else _tree(tree, where))
    return Trigger(kind)


def parse_graph(data: Any) -> Graph:
    if not isinstance(data, dict) or not isinstance(data.get("steps"), dict) or not data["steps"]:
        raise _refuse(_("A journey needs at least one step."), field="steps")
    if len(data["steps"]) > MOST_STEPS:
        raise _refuse(_("A journey has at most %(n)s steps.") % {"n": MOST_STEPS}, field="steps")
    steps = {step_id: _step(step_id, raw) for step_id, raw in data["steps"].items()}
    start = data.get("start")
    if start not in steps:
        raise _refuse(_("The first step is not one of the journey's steps."), field="start")
    for step in steps.values():
        for _outcome, target in step.exits:
            if target is not None and target not in steps:
                raise _refuse(_("Step %(step)s leads to %(target)s, which is not a step of the journey.") % {
                    "step": step.id, "target": target}, step=step.id)
    graph = Graph(start, steps)
    _refuse_loops(graph)
    unreached = sorted(set(steps) - {step.id for step in graph.order()})
    if unreached:
        raise _refuse(_("No way leads to the steps %(steps)s.") % {"steps": ", ".join(unreached)}, steps=unreached)
    return graph


def _refuse_loops(graph: Graph) -> None:
    """A way through the graph that comes back to a step is refused (a visit takes each step once)."""
    state: dict[str, str] = {}

    def visit(step_id: str) -> None:
        state[step_id] = "open"
        for _outcome, target in graph.steps[step_id].exits:
            if target is None:
                continue
            if state.get(target) == "open":
                raise _refuse(_("Step %(step)s leads back to %(target)s: a journey goes forward only.") % {
                    "step": step_id, "target": target}, step=step_id)
            if target not in state:
                visit(target)
        state[step_id] = "closed"

    visit(graph.start)


def _step(step_id: Any, raw: Any) -> Step:
    if not isinstance(step_id, str) or not step_id or len(step_id) > STEP_ID_LENGTH or not step_id.replace(
            "-", "").replace("_", "").isalnum() or not step_id.isascii():
        raise _refuse(_("A step's id is up to %(n)s Latin letters, digits, - and _.") % {"n": STEP_ID_LENGTH},
                      step=str(step_id))
    if not isinstance(raw, dict) or raw.get("kind") not in STEP_KINDS:
        raise _refuse(_("Step %(step)s: choose what it does.") % {"step": step_id}, step=step_id)
    where = _("Step %(step)s") % {"step": step_id}
    kind = raw["kind"]
    common = {"id": step_id, "kind": kind, "title": _text(raw.get("title"), where, "title", required=False)}
    target = _target(raw.get("next"), where)
    if kind == "send":
        offers = raw.get("offers") or []
        if not isinstance(offers, list) or not all(isinstance(sku, str) and sku for sku in offers):
            raise _refuse(_("%(where)s: offers are a list of SKUs.") % {"where": where}, step=step_id)
        return Step(**common, template=_text(raw.get("template"), where, "template"), offers=tuple(offers),
                    exits=(("sent", target),))
    if kind == "wait":
        days = _whole(raw.get("days", 0), 0, MOST_DAYS, where, "days")
        hours = _whole(raw.get("hours", 0), 0, 23, where, "hours")
        if days == hours == 0:
            raise _refuse(_("%(where)s: a wait lasts at least an hour.") % {"where": where}, step=step_id)
        return Step(**common, wait=timedelta(days=days, hours=hours), exits=(("waited", target),))
    if kind == "wait_event":
        return Step(**common, event=_event(raw.get("event"), where),
                    wait=timedelta(days=_whole(raw.get("timeout_days"), 1, MOST_DAYS, where, "timeout_days")),
                    exits=(("event", _target(raw.get("on_event"), where)),
                           ("timeout", _target(raw.get("on_timeout"), where))))
    if kind == "branch":
        condition = raw.get("condition")
        if not isinstance(condition, dict) or condition.get("kind") not in (ORDERED_SINCE_ENTRY, "conditions"):
            raise _refuse(_("%(where)s: choose the condition.") % {"where": where}, step=step_id)
        condition = ({"kind": "conditions", "tree": _tree(condition.get("tree"), where)}
                     if condition["kind"] == "conditions" else {"kind": ORDERED_SINCE_ENTRY})
        return Step(**common, condition=condition,
                    exits=(("yes", _target(raw.get("yes"), where)), ("no", _target(raw.get("no"), where))))
    if kind == "split":
        return Step(**common, exits=_paths(raw.get("paths"), where))
    if kind == "accrue":
        return Step(**common, event=_text(raw.get("event"), where, "event"), exits=(("granted", target),))
    if kind == "tag":
        return Step(**common, tag=_text(raw.get("tag"), where, "tag"), remove=bool(raw.get("remove")),
                    exits=(("tagged", target),))
    return Step(**common)


def _target(value: Any, where: str) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise _refuse(_("%(where)s: a next step is named by its id.") % {"where": where})
    return value


def _paths(paths: Any, where: str) -> tuple[tuple[str, str | None], ...]:
    if not isinstance(paths, list) or not 2 <= len(paths) <= 5 or not all(isinstance(p, dict) for p in paths):
        raise _refuse(_("%(where)s: a split has 2 to 5 paths.") % {"where": where}, field="paths")
    shares = [_whole(path.get("share"), 1, 99, where, "share") for path in paths]
    if sum(shares) != 100:
        raise _refuse(_("%(where)s: the shares add up to %(sum)s%%, not 100%%.") % {"where": where,
                                                                                     "sum": sum(shares)})
    return tuple((f"path-{n}:{share}", _target(path.get("next"), where))
                 for n, (share, path) in enumerate(zip(shares, paths, strict=True), start=1))


def split_shares(step: Step) -> list[tuple[str, int]]:
    """A split's (outcome, share in percent), in order."""
    return [(outcome, int(outcome.rsplit(":", 1)[1])) for outcome, _target in step.exits]


def dump_graph(graph: Graph) -> dict:
    """The stored JSON of a parsed graph (`parse_graph(dump_graph(g)) == g`)."""
    steps: dict[str, dict] = {}
    for step in graph.steps.values():
        raw: dict[str, Any] = {"kind": step.kind}
        if step.title:
            raw["title"] = step.title
        exits = dict(step.exits)
        if step.kind == "send":
            raw |= {"template": step.template, "offers": list(step.offers), "next": exits["sent"]}
        elif step.kind == "wait":
            raw |= {"days": step.wait.days, "hours": step.wait.seconds // 3600, "next": exits["waited"]}
        elif step.kind == "wait_event":
            raw |= {"event": step.event, "timeout_days": step.wait.days, "on_event": exits["event"],
                    "on_timeout": exits["timeout"]}
        elif step.kind == "branch":
            raw |= {"condition": step.condition, "yes": exits["yes"], "no": exits["no"]}
        elif step.kind == "split":
            raw["paths"] = [{"share": share, "next": exits[outcome]} for outcome, share in split_shares(step)]
        elif step.kind == "accrue":
            raw |= {"event": step.event, "next": exits["granted"]}
        elif step.kind == "tag":
            raw |= {"tag": step.tag, "remove": step.remove, "next": exits["tagged"]}
        steps[step.id] = raw
    return {"start": graph.start, "steps": steps}
