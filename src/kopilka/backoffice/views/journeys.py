"""Trigger journeys for marketers: the list, a new one (blank, or from a shipped template such as Anna's), a
journey's page — its flow with the members at each step, its entry and steps to change (a live journey's changed
steps become a new version), its versions, and starting, pausing, resuming and finishing it — and its results
against the held-out members, with a chart and downloads."""

import json

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_datetime
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kopilka.backoffice import journey_results
from kopilka.backoffice.access import ACTION, CHANGES, requires
from kopilka.backoffice.journey_flow import flow
from kopilka.backoffice.journey_steps import graph_from_post, step_forms
from kopilka.backoffice.mailing_form import EffectForm
from kopilka.backoffice.presenters import readable
from kopilka.backoffice.views.analytics import table_file
from kopilka.backoffice.views.campaign_results import DEFAULT_EFFECT, FORMATS
from kopilka.campaigns.models import EventType
from kopilka.communications.journeys import results as figures
from kopilka.communications.journeys import selectors
from kopilka.communications.journeys import services as service
from kopilka.communications.journeys.blueprints import BLUEPRINTS, create_from_blueprint
from kopilka.communications.journeys.graph import MEMBER_EVENT, OUTBOX_EVENTS, TRIGGER_KINDS, parse_graph
from kopilka.communications.journeys.models import Journey
from kopilka.communications.models import MessageTemplate
from kopilka.core import audit
from kopilka.core.errors import ApplicationError

BLANK = {"start": "first", "steps": {"first": {"kind": "wait", "days": 1, "hours": 0, "next": None}}}


def event_choices() -> list[tuple[str, str]]:
    return [*((code, str(name)) for code, name in OUTBOX_EVENTS.items()),
            *((MEMBER_EVENT + code, _("member event “%(name)s”") % {"name": name})
              for code, name in EventType.objects.filter(is_active=True).values_list("code", "name"))]


class NewJourneyForm(forms.Form):
    code = forms.SlugField(label=gettext_lazy("Code"), max_length=60)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200, required=False,
                           help_text=gettext_lazy("Empty: the template's name."))
    start_from = forms.ChoiceField(label=gettext_lazy("Start from"), choices=[
        ("anna", gettext_lazy("Bonuses about to burn (the Anna scenario)")),
        ("blank", gettext_lazy("A blank journey")),
    ])


class SettingsForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    trigger_kind = forms.ChoiceField(label=gettext_lazy("Members enter by"), choices=TRIGGER_KINDS.items())
    event = forms.ChoiceField(label=gettext_lazy("Event"), required=False)
    days = forms.IntegerField(label=gettext_lazy("Days without a purchase"), min_value=1, required=False)
    at = forms.DateTimeField(label=gettext_lazy("Moment"), required=False,
                             widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))
    tree = forms.CharField(label=gettext_lazy("Segment: conditions (JSON)"), required=False,
                           widget=forms.Textarea(attrs={"rows": 3}))
    reentry = forms.BooleanField(label=gettext_lazy("May enter again after leaving"), required=False)
    holdout_percent = forms.DecimalField(label=gettext_lazy("Held out, %"), min_value=0, max_value=50,
                                         decimal_places=2)
    attribution_days = forms.IntegerField(
        label=gettext_lazy("Attribution window, days"), min_value=1, max_value=service.MOST_ATTRIBUTION_DAYS,
        help_text=gettext_lazy("A purchase this many days after entering counts as a conversion in the results."))
    graph_json = forms.CharField(label=gettext_lazy("All steps as JSON (to add, remove or rewire steps)"),
                                 widget=forms.Textarea(attrs={"rows": 8}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["event"].choices = [("", "—"), *event_choices()]

    def trigger(self) -> dict:
        """The entry as the journey stores it, or a ValueError naming what is missing."""
        data, kind = self.cleaned_data, self.cleaned_data["trigger_kind"]
        if kind == "event":
            return {"kind": kind, "event": data.get("event") or ""}
        if kind == "inactivity":
            return {"kind": kind, "days": data.get("days")}
        tree = json.loads(data["tree"]) if (data.get("tree") or "").strip() else None
        if kind == "segment":
            return {"kind": kind, "tree": tree}
        if kind == "schedule":
            at = data.get("at")
            return {"kind": kind, "at": at.isoformat() if at else "", **({"tree": tree} if tree else {})}
        return {"kind": kind}


def _initial(journey: Journey, graph: dict) -> dict:
    trigger = journey.trigger
    return {"name": journey.name, "trigger_kind": trigger.get("kind"), "event": trigger.get("event", ""),
            "days": trigger.get("days"), "reentry": journey.reentry,
            "at": localtime(parse_datetime(trigger["at"])) if trigger.get("at") else None,
            "tree": json.dumps(trigger["tree"], ensure_ascii=False) if trigger.get("tree") else "",
            "holdout_percent": journey.holdout_percent, "attribution_days": journey.attribution_days,
            "graph_json": json.dumps(graph, ensure_ascii=False, indent=1)}


@requires("communications.view_journey")
def journeys(request):
    found = Journey.objects.all()
    inside = {journey.pk: selectors.visits(journey).inside for journey in found}
    return render(request, "backoffice/journeys.html", {
        "journeys": [(journey, inside[journey.pk]) for journey in found],
        "may_add": request.user.has_perm("communications.add_journey")})


@requires("communications.add_journey", methods=CHANGES)
def new_journey(request):
    form = NewJourneyForm(request.POST or None, initial={"start_from": "anna"})
    if request.method == "POST" and form.is_valid():
        data, who = form.cleaned_data, audit.actor_of(request.user)
        try:
            if data["start_from"] == "blank":
                service.create_journey(code=data["code"], name=data["name"] or data["code"], graph=BLANK,
                                       trigger={"kind": "event", "event": "order.paid"}, user=request.user)
            else:
                create_from_blueprint(data["start_from"], code=data["code"], name=data["name"], user=request.user,
                                      actor=who)
        except ApplicationError as refused:
            form.add_error(None, refused.message)
        else:
            messages.success(request, _("Journey %(code)s created as a draft.") % {"code": data["code"]})
            return redirect("backoffice:journey", code=data["code"])
    return render(request, "backoffice/journey_new.html", {"form": form, "blueprints": BLUEPRINTS})


@requires("communications.view_journey", methods=CHANGES)
def journey(request, code: str):
    """A journey's page; "Save" (communications.change_journey) keeps its entry, settings and steps."""
    found = service.get_journey(code)
    current = found.current_version()
    graph = current.graph
    form = SettingsForm(request.POST or None, initial=_initial(found, graph))
    if request.method == "POST":
        if not request.user.has_perm("communications.change_journey"):
            raise PermissionDenied
        if form.is_valid() and _saved(request, form, found, graph):
            return redirect("backoffice:journey", code=code)
    parsed = parse_graph(graph)
    return render(request, "backoffice/journey.html", {
        "journey": found, "version": current, "form": form, "flow": flow(parsed, selectors.step_counts(found)),
        "steps": step_forms(graph, [step.id for step in parsed.order()]), "visits": selectors.visits(found),
        "versions": selectors.versions(found), "templates": MessageTemplate.objects.values_list("code", flat=True),
        "step_ids": [step.id for step in parsed.order()], "actions": _actions(found),
    })


def _saved(request, form: SettingsForm, found: Journey, graph: dict) -> bool:
    data = form.cleaned_data
    try:
        trigger = form.trigger()
        posted = json.loads(data["graph_json"])
        steps = posted if posted != graph else graph_from_post(graph, request.POST)
    except ValueError as unreadable:
        form.add_error(None, _("The JSON cannot be read: %(error)s") % {"error": unreadable})
        return False
    try:
        saved = service.change_journey(found.code, graph=steps, user=request.user, name=data["name"], trigger=trigger,
                                       reentry=data["reentry"], holdout_percent=data["holdout_percent"],
                                       attribution_days=data["attribution_days"])
    except ApplicationError as refused:
        form.add_error(None, refused.message)
        return False
    if saved.new_version:
        messages.success(request, _("Journey %(code)s saved as version %(number)s; the members inside finish on the "
                                    "version they entered.") % {"code": found.code, "number": saved.version.number})
    else:
        messages.success(request, _("Journey %(code)s saved.") % {"code": found.code})
    return True


def _actions(found: Journey) -> list[tuple[str, str]]:
    labels = {"start": _("Start"), "pause": _("Pause"), "resume": _("Resume"), "finish": _("Finish")}
    return [(action, labels[action]) for action, (allowed, _target) in service.MOVES.items()
            if found.status in allowed]


@requires("communications.change_journey", methods=ACTION)
def lifecycle(request, code: str, action: str):
    try:
        moved = service.move_journey(code, action, user=request.user)
    except ApplicationError as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, _("Journey %(code)s: %(status)s") % {"code": code,
                                                                        "status": moved.get_status_display()})
    return redirect("backoffice:journey", code=code)


@requires("communications.view_journey")
def results(request, code: str):
    found = service.get_journey(code)
    form = EffectForm(request.GET or None)
    effect = (form.cleaned_data.get("effect") if form.is_valid() else None) or DEFAULT_EFFECT
    counted = figures.results(found)
    shown = journey_results.shown(counted, effect)
    table = readable(shown.table)
    return render(request, "backoffice/journey_results.html", {
        "journey": found, "form": form, "effect": effect, "found": counted, "shown": shown,
        "columns": table.columns[:journey_results.SHOWN_COLUMNS],
        "rows": [(row[:journey_results.SHOWN_COLUMNS], uplift) for row, uplift in zip(table.rows, shown.uplifts,
                                                                                       strict=True)]})


@requires("communications.view_journey")
def download(request, code: str, table: str, fmt: str):
    found = service.get_journey(code)
    if table != "journey-groups" or fmt not in FORMATS:
        raise Http404(table)
    return table_file(journey_results.shown(figures.results(found), DEFAULT_EFFECT).table,
                      f"journey-{found.code}-{table}", fmt)
