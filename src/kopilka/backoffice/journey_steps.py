"""Editing a journey's steps on its page: each step's settings as form fields named "<step>-<setting>", read back
into the stored JSON of the graph (`graph.dump_graph`'s shape). What the fields cannot express — steps added or
removed, a way rewired into a new shape — is edited as the whole graph's JSON on the same page.

Values are read as the setting's kind asks (whole numbers, a list of SKUs, a step id or none, JSON); a value that
cannot be read is handed on as it was typed, so the journey's own checks refuse it with their message."""

import json
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from kopilka.communications.journeys.graph import STEP_KINDS

EXITS = ("next", "yes", "no", "on_event", "on_timeout")
LABELS = {
    "title": _("Title"), "template": _("Message template"), "offers": _("Offered products (SKUs, comma-separated)"),
    "days": _("Days"), "hours": _("Hours"), "event": _("Event"), "timeout_days": _("Give up after, days"),
    "condition": _("Condition (JSON)"), "tag": _("Tag"), "remove": _("Take the tag off"),
    "next": _("Next step"), "yes": _("If yes"), "no": _("If no"), "on_event": _("When the event comes"),
    "on_timeout": _("When it does not come in time"),
}


@dataclass(frozen=True)
class Field:
    name: str  # the form field's name
    label: str
    kind: str  # "number", "text", "exit", "template", "checkbox", "json"
    value: Any


@dataclass(frozen=True)
class StepForm:
    id: str
    kind: str
    fields: list[Field]


def step_forms(graph: dict, order: list[str]) -> list[StepForm]:
    """The fields of each step, in `order`."""
    forms = []
    for step_id in order:
        raw = graph["steps"][step_id]
        fields = [Field(f"{step_id}-title", str(LABELS["title"]), "text", raw.get("title", ""))]
        for key, value in raw.items():
            if key in ("kind", "title"):
                continue
            if key == "paths":
                for n, path in enumerate(value, start=1):
                    fields.append(Field(f"{step_id}-share-{n}", f"{_('Share, %')} {n}", "number", path["share"]))
                    fields.append(Field(f"{step_id}-next-{n}", f"{_('Next step')} {n}", "exit", path["next"]))
                continue
            fields.append(Field(f"{step_id}-{key}", str(LABELS.get(key, key)), _kind(key, value),
                                _shown(key, value)))
        forms.append(StepForm(step_id, str(STEP_KINDS[raw["kind"]]), fields))
    return forms


def _kind(key: str, value: Any) -> str:
    if key in EXITS:
        return "exit"
    if key == "template":
        return "template"
    if isinstance(value, bool):
        return "checkbox"
    if isinstance(value, int):
        return "number"
    if isinstance(value, dict):
        return "json"
    return "text"


def _shown(key: str, value: Any) -> Any:
    if key == "offers":
        return ", ".join(value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else value


def graph_from_post(graph: dict, post) -> dict:
    """The graph with each step's settings as posted (those not posted stay as they were)."""
    steps = {}
    for step_id, raw in graph["steps"].items():
        changed = dict(raw)
        title = post.get(f"{step_id}-title")
        if title is not None:
            changed.pop("title", None)
            if title.strip():
                changed["title"] = title.strip()
        for key, value in raw.items():
            if key == "paths":
                changed["paths"] = [{"share": _number(post.get(f"{step_id}-share-{n}", path["share"])),
                                     "next": _exit(post.get(f"{step_id}-next-{n}", path["next"]))}
                                    for n, path in enumerate(value, start=1)]
            elif key not in ("kind", "title"):
                changed[key] = _read(key, value, post, f"{step_id}-{key}")
        steps[step_id] = changed
    return {"start": graph["start"], "steps": steps}


def _read(key: str, current: Any, post, name: str) -> Any:
    if isinstance(current, bool):
        return name in post
    if name not in post:
        return current
    given = post[name]
    if key in EXITS:
        return _exit(given)
    if key == "offers":
        return [sku.strip() for sku in given.split(",") if sku.strip()]
    if isinstance(current, int):
        return _number(given)
    if isinstance(current, dict):
        try:
            return json.loads(given)
        except ValueError:
            return given
    return given


def _number(given: Any) -> Any:
    try:
        return int(str(given).strip())
    except ValueError:
        return given


def _exit(given: Any) -> str | None:
    return given or None
