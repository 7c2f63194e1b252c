"""The monthly plan: a month's mechanics (at most three) with plan against fact — each mechanic's conversion and
budget, the month's activity by weekday and hour as a heat map, the best hours to send — and a mechanic's page."""

from datetime import date

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.dates import WEEKDAYS
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from kopilka.analytics.presentation import charts
from kopilka.backoffice import presenters
from kopilka.backoffice.access import CHANGES, requires
from kopilka.backoffice.condition_choices import condition_choices
from kopilka.backoffice.plan_form import MechanicForm, initial_of
from kopilka.communications.monthly_plan import facts, services
from kopilka.communications.monthly_plan.models import MAX_MECHANICS, PlanMechanic
from kopilka.core import clock
from kopilka.core.errors import NotFound, ValidationFailed


def _month(text: str) -> date:
    try:
        return date.fromisoformat(f"{text}-01")
    except ValueError:
        raise Http404(text) from None


@requires("communications.view_planmechanic")
def plan(request):
    return redirect("backoffice:plan_month", month=f"{clock.local_date(clock.now()):%Y-%m}")


@requires("communications.view_planmechanic")
def month_page(request, month: str):
    first = _month(month)
    mechanics = list(PlanMechanic.objects.filter(month=first).select_related("campaign", "mailing", "journey"))
    rows = [(m, facts.fact(m)) for m in mechanics]
    grid = facts.activity(first)
    hours = facts.sending_hours(first)
    best = facts.best_hours(hours)
    heat = presenters.heatmap({"columns": [str(h) for h in range(24)], "rows": [str(WEEKDAYS[d]) for d in range(7)],
                               "values": [[n or None for n in row] for row in grid]})
    chart = charts.bar_svg([str(h.hour) for h in hours],
                           [round(100 * h.opened / h.sent, 1) if h.sent else 0 for h in hours],
                           y_title=_("opened of sent, percent"), title=_("Opens by hour of sending")) \
        if any(h.sent for h in hours) else None
    previous = clock.last_day_of_month(first, -1).replace(day=1)
    following = clock.last_day_of_month(first, 1).replace(day=1)
    return render(request, "backoffice/plan.html", {
        "month": first, "title": date_format(first, "YEAR_MONTH_FORMAT"), "rows": rows,
        "may_add": len(mechanics) < MAX_MECHANICS, "heatmap": heat, "hours": [h for h in hours if h.sent],
        "best": best, "chart": chart, "previous": f"{previous:%Y-%m}", "following": f"{following:%Y-%m}",
        "max": MAX_MECHANICS})


@requires("communications.add_planmechanic", methods=CHANGES)
def new_mechanic(request, month: str):
    return _page(request, _month(month), None)


@requires("communications.view_planmechanic", methods=CHANGES)
def mechanic(request, month: str, position: int):
    return _page(request, _month(month), position)


def _page(request, first: date, position: int | None):
    existing = None
    if position is not None:
        try:
            existing = services.get_mechanic(first, position)
        except NotFound as missing:
            raise Http404(missing.message) from missing
    form = MechanicForm(request.POST or None, initial=initial_of(existing) if existing else {"kind": "text"})
    if request.method == "POST":
        if existing is not None and not request.user.has_perm("communications.change_planmechanic"):
            raise PermissionDenied
        if form.is_valid():
            try:
                saved = services.save_mechanic(month=first, position=position, user=request.user,
                                               **form.fields_of_mechanic())
            except ValidationFailed as refused:
                for field, problems in refused.details.get("fields", {}).items():
                    for problem in problems:
                        form.add_error(field if field in form.fields else None, problem)
                if not refused.details.get("fields"):
                    form.add_error(None, refused.message)
            else:
                messages.success(request, _("Mechanic %(n)d saved.") % {"n": saved.position})
                return redirect("backoffice:plan_month", month=f"{first:%Y-%m}")
    return render(request, "backoffice/plan_mechanic.html", {
        "form": form, "mechanic": existing, "month": first, "month_code": f"{first:%Y-%m}",
        "title": date_format(first, "YEAR_MONTH_FORMAT"), "choices": condition_choices()})
