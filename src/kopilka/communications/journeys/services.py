"""Keeping journeys: creating one (blank, or from a shipped template such as Anna's), changing its settings and
steps, and its life: draft → live ⇄ paused → finished.

Changing the steps of a journey that members have entered makes a new version, and only the new version is
entered from then on; the members inside finish on the version they entered (its steps are never changed). A draft
that nobody entered has its one version changed in place. Everything a journey names must exist when it is saved:
its message templates, tags and member event types; a live journey's e-mail needs the programme's public address.
Every change is refused whole when any part is wrong, and is recorded in the audit log.
"""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from kopilka.campaigns.models import EventType
from kopilka.communications.journeys.events import start_reading
from kopilka.communications.journeys.graph import MEMBER_EVENT, Graph, dump_graph, parse_graph, parse_trigger
from kopilka.communications.journeys.models import Journey, JourneyState, JourneyVersion
from kopilka.communications.journeys.sending import template_for
from kopilka.communications.models import MessageTemplate
from kopilka.core import audit, clock
from kopilka.core.errors import Conflict, NotFound, ValidationFailed
from kopilka.customers.models import Tag

SETTINGS = ("name", "trigger", "reentry", "holdout_percent", "attribution_days")
MOST_HOLDOUT = Decimal(50)
MOST_ATTRIBUTION_DAYS = 90  # as a mailing's
Status = Journey.Status
# action → (from statuses, to status)
MOVES = {
    "start": ((Status.DRAFT,), Status.LIVE),
    "pause": ((Status.LIVE,), Status.PAUSED),
    "resume": ((Status.PAUSED,), Status.LIVE),
    "finish": ((Status.LIVE, Status.PAUSED), Status.FINISHED),
}


@dataclass(frozen=True)
class Saved:
    journey: Journey
    version: JourneyVersion
    new_version: bool


def get_journey(code: str, *, locked: bool = False) -> Journey:
    found = (Journey.objects.select_for_update() if locked else Journey.objects).filter(code=code).first()
    if found is None:
        raise NotFound(_("No journey %(code)s.") % {"code": code}, code="journey_not_found", details={"code": code})
    return found


def create_journey(*, code: str, name: str, trigger: dict, graph: dict, reentry: bool = False,
                   holdout_percent: Decimal | str | int = 0, attribution_days: int = 14, user=None,
                   actor: str | None = None) -> Journey:
    """A draft journey with its first version."""
    who = actor or audit.actor_of(user)
    if not code or len(code) > 60 or not code.replace("-", "").replace("_", "").isalnum() or not code.isascii():
        raise ValidationFailed(_("A journey's code is up to 60 Latin letters, digits, - and _."),
                               code="journey_invalid", details={"field": "code"})
    fields = _checked({"name": name, "trigger": trigger, "reentry": reentry, "holdout_percent": holdout_percent,
                       "attribution_days": attribution_days})
    checked = _checked_graph(graph)
    now = clock.now()
    try:
        with transaction.atomic():
            journey = Journey.objects.create(code=code, created_at=now, updated_at=now, updated_by=who, **fields)
            JourneyVersion.objects.create(journey=journey, number=1, graph=dump_graph(checked), created_at=now,
                                          created_by=who)
            audit.record(user, "communications.journey_created",
                         _("Created journey %(code)s") % {"code": code}, target=_target(journey), actor=who)
    except IntegrityError:
        raise Conflict(_("A journey with this code exists."), code="journey_exists", details={"code": code}) from None
    return journey


def change_journey(code: str, *, graph: dict | None = None, user=None, actor: str | None = None,
                   **settings: Any) -> Saved:
    """Change the journey's settings (SETTINGS) and, given `graph`, its steps: a new version when members have
    entered the current one."""
    unknown = set(settings) - set(SETTINGS)
    if unknown:
        raise ValueError(f"not journey settings: {sorted(unknown)}")
    who = actor or audit.actor_of(user)
    with transaction.atomic():
        journey = get_journey(code, locked=True)
        fields = _checked({**{name: getattr(journey, name) for name in SETTINGS}, **settings})
        if journey.status == Status.LIVE:
            _refuse_unsendable(parse_graph(graph if graph is not None else journey.current_version().graph))
        changed = sorted(name for name, value in fields.items() if getattr(journey, name) != value)
        version, new_version = journey.current_version(), False
        if graph is not None:
            dumped = dump_graph(_checked_graph(graph))
            if dumped != version.graph:
                changed.append("steps")
                if JourneyState.objects.filter(version=version).exists():
                    version = JourneyVersion.objects.create(journey=journey, number=version.number + 1, graph=dumped,
                                                            created_at=clock.now(), created_by=who)
                    new_version = True
                else:
                    version.graph = dumped
                    version.save(update_fields=["graph"])
        for name, value in fields.items():
            setattr(journey, name, value)
        journey.updated_at, journey.updated_by = clock.now(), who
        journey.save()
        audit.record(user, "communications.journey_changed",
                     _("Changed journey %(code)s: %(fields)s") % {"code": code, "fields": ", ".join(changed) or "—"},
                     target=_target(journey), details={"fields": changed, "version": version.number}, actor=who)
    return Saved(journey, version, new_version)


def move_journey(code: str, action: str, *, user=None, actor: str | None = None) -> Journey:
    """start, pause, resume or finish the journey."""
    if action not in MOVES:
        raise ValidationFailed(_("Unknown action."), code="unknown_action", details={"action": action})
    allowed, target = MOVES[action]
    who = actor or audit.actor_of(user)
    with transaction.atomic():
        journey = get_journey(code, locked=True)
        if journey.status not in allowed:
            raise Conflict(_("The journey is %(status)s: it cannot be done now.") % {
                "status": journey.get_status_display()}, code="journey_status_conflict",
                details={"status": journey.status, "action": action})
        if target == Status.LIVE:
            _refuse_unsendable(parse_graph(journey.current_version().graph))
        now = clock.now()
        journey.status, journey.updated_at, journey.updated_by = target, now, who
        if action == "start":
            journey.live_since = now
            start_reading()
        journey.save()
        audit.record(user, "communications.journey_" + action,
                     _("Journey %(code)s is now %(status)s") % {"code": code, "status": journey.get_status_display()},
                     target=_target(journey), actor=who)
    return journey


def _target(journey: Journey) -> str:
    return f"communications.journey:{journey.pk}"


def _checked(fields: dict) -> dict:
    """The settings as stored, or ValidationFailed naming what is wrong."""
    name = (fields.get("name") or "").strip()
    if not name or len(name) > 200:
        raise ValidationFailed(_("A journey needs a name of at most 200 characters."), code="journey_invalid",
                               details={"field": "name"})
    trigger = fields["trigger"]
    parsed = parse_trigger(trigger)
    if parsed.event.startswith(MEMBER_EVENT):
        _refuse_unknown_event(parsed.event.removeprefix(MEMBER_EVENT))
    try:
        share = Decimal(str(fields.get("holdout_percent") or 0))
    except InvalidOperation:
        share = Decimal(-1)
    if not 0 <= share <= MOST_HOLDOUT or share != share.quantize(Decimal("0.01")):
        raise ValidationFailed(_("The holdout is 0 to %(most)s percent, in hundredths.") % {"most": MOST_HOLDOUT},
                               code="journey_invalid", details={"field": "holdout_percent"})
    days = fields.get("attribution_days")
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MOST_ATTRIBUTION_DAYS:
        raise ValidationFailed(_("The attribution window is 1 to %(most)s days.") % {"most": MOST_ATTRIBUTION_DAYS},
                               code="journey_invalid", details={"field": "attribution_days"})
    return {"name": name, "trigger": trigger, "reentry": bool(fields.get("reentry")), "holdout_percent": share,
            "attribution_days": days}


def _checked_graph(data: Any) -> Graph:
    graph = parse_graph(data)
    for step in graph.steps.values():
        if step.kind == "send" and not MessageTemplate.objects.filter(code=step.template).exists():
            raise ValidationFailed(_("Step %(step)s: no message template %(code)s.") % {
                "step": step.id, "code": step.template}, code="journey_invalid", details={"step": step.id})
        if step.kind == "tag" and not Tag.objects.filter(code=step.tag).exists():
            raise ValidationFailed(_("Step %(step)s: no tag %(code)s.") % {"step": step.id, "code": step.tag},
                                   code="journey_invalid", details={"step": step.id})
        if step.kind == "accrue":
            _refuse_unknown_event(step.event)
        if step.kind == "wait_event" and step.event.startswith(MEMBER_EVENT):
            _refuse_unknown_event(step.event.removeprefix(MEMBER_EVENT))
    return graph


def _refuse_unknown_event(code: str) -> None:
    if not EventType.objects.filter(code=code, is_active=True).exists():
        raise ValidationFailed(_("No active member event type %(code)s.") % {"code": code}, code="journey_invalid",
                               details={"event": code})


def _refuse_unsendable(graph: Graph) -> None:
    """A live journey's send steps can send: their templates exist and, for e-mail, the public address is set."""
    for step in graph.steps.values():
        if step.kind == "send":
            template_for(step.template)
