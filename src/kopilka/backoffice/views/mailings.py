"""The marketer's mass mailings: the list, a new draft, a mailing's page (a draft is edited there with the campaign
builder's conditions and live counts; a draft is scheduled, a scheduled one taken back or cancelled; a sending one
shows its progress), and its results with charts and downloads."""

from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from kopilka.backoffice import mailing_results, presenters
from kopilka.backoffice.access import ACTION, CHANGES, requires
from kopilka.backoffice.condition_choices import condition_choices
from kopilka.backoffice.mailing_form import EffectForm, MailingForm, ScheduleForm, initial_of
from kopilka.backoffice.views.analytics import table_file
from kopilka.backoffice.views.campaign_results import DEFAULT_EFFECT, FORMATS
from kopilka.communications.mailings import audience, services
from kopilka.communications.mailings import results as figures
from kopilka.communications.mailings.models import Mailing
from kopilka.core import clock
from kopilka.core.errors import ApplicationError, ValidationFailed

ACTIONS = ("schedule", "draft", "cancel")


@requires("communications.view_mailing")
def mailings(request):
    shown = Mailing.objects.all()
    return render(request, "backoffice/mailings.html", {"mailings": shown})


@requires("communications.add_mailing", methods=CHANGES)
def new_mailing(request):
    form = MailingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        saved = _saved(request, form, None)
        if saved is not None:
            return redirect("backoffice:mailing", mailing_id=saved.pk)
    return render(request, "backoffice/mailing.html", {"form": form, "mailing": None,
                                                       "choices": condition_choices()})


@requires("communications.view_mailing", methods=CHANGES)
def mailing(request, mailing_id: int):
    """A mailing's page; POST (communications.change_mailing) saves a change of a draft."""
    found = get_object_or_404(Mailing, pk=mailing_id)
    form = MailingForm(request.POST or None, initial=initial_of(found))
    if request.method == "POST":
        if not request.user.has_perm("communications.change_mailing"):
            raise PermissionDenied
        if form.is_valid() and _saved(request, form, found.pk) is not None:
            return redirect("backoffice:mailing", mailing_id=found.pk)
    return render(request, "backoffice/mailing.html", {
        "form": form, "mailing": found, "choices": condition_choices(), "schedule": ScheduleForm(),
        "progress": figures.progress(found) if found.started_at else None,
        "split": _split(found) if found.status in (Mailing.Status.DRAFT, Mailing.Status.SCHEDULED) else None,
        "editable": found.status == Mailing.Status.DRAFT})


def _split(found: Mailing) -> dict:
    """Who the saved draft would reach if it started now: members, the programme's control group, held out, and
    each variant's members by label."""
    counts = audience.split(found, clock.now())
    variants = [(chr(ord("A") + p), counts.get(p, 0)) for p in range(found.variants.count())]
    return {"members": sum(counts.values()), "control_group": counts.get(audience.PROGRAMME_GROUP, 0),
            "held_out": counts.get(audience.HELD_OUT, 0), "variants": variants}


def _saved(request, form: MailingForm, mailing_id: int | None) -> Mailing | None:
    try:
        saved = services.save_mailing(mailing_id=mailing_id, user=request.user, variants=form.variants(),
                                      **form.fields_of_mailing())
    except ValidationFailed as refused:
        for field, problems in refused.details.get("fields", {}).items():
            for problem in problems:
                form.add_error(None if field in ("variants", "conditions") else field, problem)
        return None
    messages.success(request, _("Mailing “%(name)s” saved.") % {"name": saved.name})
    return saved


@requires("communications.change_mailing", methods=ACTION)
def act(request, mailing_id: int, action: str):
    """Schedule a draft for the moment posted, take a scheduled one back to a draft, or cancel either."""
    if action not in ACTIONS:
        raise Http404(action)
    get_object_or_404(Mailing, pk=mailing_id)
    try:
        if action == "schedule":
            form = ScheduleForm(request.POST)
            if not form.is_valid():
                raise ValidationFailed(_("Give the moment to send at."), code="mailing_send_at_missing")
            services.schedule(mailing_id, form.cleaned_data["send_at"], user=request.user)
        elif action == "draft":
            services.back_to_draft(mailing_id, user=request.user)
        else:
            services.cancel(mailing_id, user=request.user)
    except ApplicationError as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, _("Mailing: %(status)s.") % {
            "status": Mailing.objects.get(pk=mailing_id).get_status_display()})
    return redirect("backoffice:mailing", mailing_id=mailing_id)


@requires("communications.view_mailing")
def progress(request, mailing_id: int):
    """How far the mailing has gone, for its page's progress bar (JSON)."""
    return JsonResponse(figures.progress(get_object_or_404(Mailing, pk=mailing_id)))


def _results(found: Mailing, effect: Decimal) -> tuple[figures.Results, mailing_results.Shown]:
    templates = list(found.variants.order_by("position").values_list("template__code", flat=True))
    counted = figures.results(found)
    return counted, mailing_results.shown(counted, templates, effect)


@requires("communications.view_mailing")
def results(request, mailing_id: int):
    found = get_object_or_404(Mailing, pk=mailing_id)
    form = EffectForm(request.GET or None)
    effect = (form.cleaned_data.get("effect") if form.is_valid() else None) or DEFAULT_EFFECT
    counted, table = _results(found, effect)
    readable = presenters.readable(table.table)
    return render(request, "backoffice/mailing_results.html", {
        "mailing": found, "form": form, "effect": effect, "found": counted, "shown": table,
        "rows": list(zip(readable.rows, table.uplifts, strict=True)), "columns": readable.columns,
        "charts": mailing_results.chart_svgs(counted)})


@requires("communications.view_mailing")
def download(request, mailing_id: int, table: str, fmt: str):
    found = get_object_or_404(Mailing, pk=mailing_id)
    if table != "mailing-groups" or fmt not in FORMATS:
        raise Http404(table)
    return table_file(_results(found, DEFAULT_EFFECT)[1].table, f"mailing-{found.pk}-{table}", fmt)
