"""Compensation above a limit: the list of what waits, and a senior agent's decision."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from kopilka.backoffice import compensation
from kopilka.backoffice.access import ACTION, requires
from kopilka.backoffice.forms import DecisionForm
from kopilka.backoffice.models import CompensationRequest
from kopilka.core.errors import ApplicationError

RECENT = 50


@requires("backoffice.view_compensationrequest")
def compensations(request):
    waiting = CompensationRequest.objects.filter(status=CompensationRequest.Status.PENDING).select_related(
        "member", "requested_by").order_by("requested_at")
    recent = CompensationRequest.objects.exclude(status=CompensationRequest.Status.PENDING).select_related(
        "member", "requested_by", "decided_by")[:RECENT]
    return render(request, "backoffice/compensations.html", {
        "waiting": waiting, "recent": recent, "form": DecisionForm(),
        "may_decide": request.user.has_perm("backoffice.approve_compensation"),
    })


@requires("backoffice.approve_compensation", methods=ACTION)
def decide(request, request_id: int):
    form = DecisionForm(request.POST)
    approve = request.POST.get("decision") == "approve"
    try:
        if not form.is_valid():
            raise ApplicationError(_("The comment is too long."))
        decided = compensation.decide(request.user, request_id, approve=approve, comment=form.cleaned_data["comment"])
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        text = _("Approved: %(points)d points granted.") if approve else _("Rejected.")
        messages.success(request, text % {"points": decided.points} if approve else text)
    return redirect("backoffice:compensations")
