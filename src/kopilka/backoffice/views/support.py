"""The support console: find a member, read the member card, grant compensation, operate on points."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from kopilka.backoffice import compensation
from kopilka.backoffice.access import CHANGES, requires
from kopilka.backoffice.card import VIEWED, member_card
from kopilka.backoffice.forms import CompensationForm, MemberSearchForm
from kopilka.backoffice.operations import OPERATIONS, perform
from kopilka.core import audit
from kopilka.core.errors import ApplicationError
from kopilka.customers.selectors import get_member, search_members

CONSOLE = "backoffice.use_support_console"
SEARCH_LIMIT = 50
SEARCHED = "member.searched"


@requires(CONSOLE)
def search(request):
    form = MemberSearchForm(request.GET or None)
    found, more = None, False
    if form.is_valid() and form.cleaned_data["q"].strip():
        try:
            page = search_members(q=form.cleaned_data["q"].strip(), limit=SEARCH_LIMIT)
        except ApplicationError as error:
            form.add_error("q", error.message)
        else:
            found, more = page.items, page.next_cursor is not None
            if len(found) == 1 and not more:
                return redirect("backoffice:member", member_id=found[0].pk)  # the card records its opening
            audit.record_shown(request.user, SEARCHED, _("Searched members: %(count)d shown") % {"count": len(found)},
                               member_ids=[m.pk for m in found], target="backoffice:search")
    return render(request, "backoffice/search.html", {"form": form, "found": found, "more": more})


@requires(CONSOLE, "customers.view_member")
def member(request, member_id: int):
    """The member card; every opening is in the audit log (staff reading personal data, 152-FZ)."""
    card = member_card(request.user, member_id, request.GET.get("before"))
    audit.record_shown(request.user, VIEWED, _("Opened the card of member %(id)d") % {"id": member_id},
                       member_ids=[member_id], target=f"customers.member:{member_id}")
    return render(request, "backoffice/member.html", card)


@requires(CONSOLE, "backoffice.grant_compensation", methods=CHANGES)
def compensate(request, member_id: int):
    """Fill in → review (what will happen, within the limit or not) → confirm."""
    person = get_member(member_id)
    form = CompensationForm(request.POST or None)
    step = request.POST.get("step")
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if step == "confirm":
            try:
                made = compensation.request(request.user, key=data["key"], member_id=member_id, points=data["points"],
                                            reason_code=data["reason_code"], comment=data["comment"])
            except ApplicationError as error:
                form.add_error(None, error.message)
            else:
                if made.status == made.Status.PENDING:
                    messages.warning(request, _("Above your limit: the compensation waits for a senior agent's "
                                                "approval."))
                else:
                    messages.success(request, _("%(points)d points granted.") % {"points": made.points})
                return redirect("backoffice:member", member_id=member_id)
        else:
            per_operation, per_day = compensation.limits_of(request.user)
            today = compensation.granted_today(request.user)
            return render(request, "backoffice/compensate_confirm.html", {
                "member": person, "form": form, "data": data,
                "reason": dict(form.fields["reason_code"].choices)[data["reason_code"]],
                "within": data["points"] <= per_operation and today + data["points"] <= per_day,
                "per_operation": per_operation, "per_day": per_day, "today": today,
            })
    return render(request, "backoffice/operation.html",
                  {"member": person, "form": form, "title": _("Grant compensation")})


@requires(CONSOLE, "customers.view_member", methods=CHANGES)
def operate(request, member_id: int, code: str):
    """Spend, burn a lot or reverse an accrual: fill in → review → confirm."""
    operation = OPERATIONS.get(code)
    if operation is None:
        raise Http404
    if not request.user.has_perm(operation.permission):
        raise PermissionDenied
    person = get_member(member_id)
    form = operation.form(request.POST or None, choices=operation.choices(member_id))
    if request.method == "POST" and form.is_valid():
        if request.POST.get("step") == "confirm":
            try:
                entry = perform(operation, request.user, member_id, form.cleaned_data)
            except ApplicationError as error:
                form.add_error(None, error.message)
            else:
                messages.success(request, _("Done: %(points)s points, entry %(entry)d.") % {
                    "points": entry.amount, "entry": entry.pk})
                return redirect("backoffice:member", member_id=member_id)
        else:
            rows = [(form.fields[name].label, _shown(form, name)) for name in form.fields if name != "key"]
            return render(request, "backoffice/operation_confirm.html",
                          {"member": person, "form": form, "operation": operation, "rows": rows})
    return render(request, "backoffice/operation.html", {"member": person, "form": form, "title": operation.title})


def _shown(form, name: str) -> str:
    """A cleaned value as the form showed it (the label of a picked choice)."""
    value = form.cleaned_data.get(name)
    choices = getattr(form.fields[name], "choices", None)
    if choices:
        return dict(choices).get(value, value)
    return "—" if value in (None, "") else value
