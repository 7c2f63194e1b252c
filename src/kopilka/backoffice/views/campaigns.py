"""The marketer's campaigns: the list with lifecycle actions, and the builder (the condition tree as nested groups
and rows with live counts of eligible members, accrual, redemption and expiry, a preview on a sample cart)."""

import json

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from kopilka.backoffice.access import ACTION, CHANGES, requires
from kopilka.backoffice.campaign_form import CampaignForm, ConditionsForm, initial_of
from kopilka.backoffice.condition_choices import GROUPS_COUNTED, condition_choices
from kopilka.backoffice.preview import preview as run_preview
from kopilka.backoffice.views import campaign_results
from kopilka.campaigns import holdout, services
from kopilka.campaigns.conditions import parse as parse_condition
from kopilka.campaigns.eligibility import HoldoutOf, eligible_members, eligible_split
from kopilka.campaigns.models import Campaign, CampaignVersion
from kopilka.campaigns.rules import parse_rules
from kopilka.campaigns.services import TRANSITIONS
from kopilka.core import audit
from kopilka.core.errors import ApplicationError

FIELDS = ("name", "public_name", "starts_at", "ends_at", "priority", "combination", "budget_points")


@requires("campaigns.view_campaign")
def campaigns(request):
    """The list, each campaign with its results for the period asked (all time when none): one read for them all."""
    shown = Campaign.objects.select_related("type").order_by("-starts_at", "code")
    period, results, query = campaign_results.list_columns(request)
    rows = [(c, [a for a, (allowed, _target) in TRANSITIONS.items() if c.status in allowed]) for c in shown]
    for c, _actions in rows:
        c.results = results.get(c.pk)
    return render(request, "backoffice/campaigns.html", {"rows": rows, "period": period, "query": query})


@requires("campaigns.add_campaign", methods=CHANGES)
def new_campaign(request):
    """The builder of a new campaign: POST saves it, or with "preview" runs the sample cart without saving."""
    return _builder(request, None)


@requires("campaigns.view_campaign", methods=CHANGES)
def campaign(request, code: str):
    """A campaign in the builder; POST (campaigns.change_campaign) saves a change, or previews it."""
    existing = Campaign.objects.select_related("type").filter(code=code).first()
    if existing is None:
        raise Http404
    return _builder(request, existing)


def _builder(request, existing: Campaign | None):
    code = existing.code if existing else None
    wanted = "campaigns.change_campaign" if existing else "campaigns.add_campaign"
    initial, rules = {}, {}
    if existing is not None:
        rules = CampaignVersion.objects.filter(campaign=existing).order_by("-number").first().rules
        initial = initial_of(existing, rules)
    form = CampaignForm(request.POST or None, initial=initial, editing=existing is not None, base_rules=rules)
    result, problem = None, None
    if request.method == "POST":
        if not request.user.has_perm(wanted):
            raise PermissionDenied
        if form.is_valid():
            data = form.cleaned_data
            if "preview" in request.POST:
                try:
                    member_id = int(request.POST.get("preview_member") or 0)
                    result = run_preview(data["rules"], code=data.get("code") or code, name=data["name"],
                                         member_id=member_id, cart=request.POST.get("preview_cart", ""))
                except (ApplicationError, ValueError) as error:
                    problem = getattr(error, "message", str(error))
            else:
                try:
                    saved, new_version = _save(request.user, existing, data)
                except ApplicationError as error:
                    form.add_error(None, error.message)
                else:
                    said = {"code": saved.code, "version": new_version}
                    messages.success(request, _("Campaign %(code)s saved.") % said if new_version is None else _(
                        "Campaign %(code)s saved. Its rules had been live, so the new rules are version %(version)d; "
                        "what was earned keeps the version it was earned under.") % said)
                    return redirect("backoffice:campaign", code=saved.code)
    return render(request, "backoffice/campaign.html", {
        "form": form, "campaign": existing, "choices": condition_choices(), "result": result, "problem": problem,
        "split": _split(existing, rules) if existing is not None else None,
        "preview_member": request.POST.get("preview_member", ""), "preview_cart": request.POST.get("preview_cart", ""),
    })


def _split(campaign: Campaign, rules: dict):
    """Who the saved rules offer the campaign to now and whom they hold out; None for a campaign that is not a
    promo offer (it holds nobody out)."""
    if not holdout.is_promo(campaign.type.lot_category):
        return None
    tree = rules.get("conditions")
    return eligible_split(None if tree is None else parse_condition(tree),
                          HoldoutOf(campaign.code, campaign.type.lot_category, parse_rules(rules).holdout_percent))


def _save(user, existing, data) -> tuple[Campaign, int | None]:
    """The form's fields and rules in one transaction (the services audit each change in it); returns the campaign
    and the number of the version its rules made when the live rules were frozen (None when none was made)."""
    actor = audit.actor_of(user)
    fields = {name: data.get(name) for name in FIELDS}
    fields["public_name"] = fields["public_name"] or data["name"]
    if existing is None:
        return services.create_campaign(code=data["code"], type=data["type"], rules=data["rules"], actor=actor,
                                        **fields), None
    with transaction.atomic():
        services.update_campaign(code=existing.code, actor=actor, **fields)
        newest = existing.versions.order_by("-number").values_list("number", flat=True).first()
        version = services.update_rules(code=existing.code, rules=data["rules"], actor=actor)
    return existing, (version.number if version.number != newest else None)


@requires("campaigns.change_campaign", methods=ACTION)
def lifecycle(request, code: str, action: str):
    try:
        moved = services.change_status(code=code, action=action, actor=audit.actor_of(request.user))
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Campaign %(code)s: %(status)s") % {
            "code": code, "status": moved.get_status_display()})
    return redirect("backoffice:campaigns")


@requires("campaigns.view_campaign", methods=ACTION)
def eligible_count(request):
    """How many active members the posted condition tree selects now (the builder's live count), and, for the
    builder's groups posted as `groups_json` (a list of trees, at most GROUPS_COUNTED), how many each selects."""
    form = ConditionsForm(request.POST)
    if not form.is_valid():
        problems = "; ".join(str(e) for errors in form.errors.values() for e in errors)
        return JsonResponse({"error": problems})
    try:
        groups = json.loads(request.POST.get("groups_json") or "[]")
        if not isinstance(groups, list) or len(groups) > GROUPS_COUNTED:
            raise ValueError(_("at most %(n)d groups are counted") % {"n": GROUPS_COUNTED})
        trees = [form.cleaned_data["conditions_json"], *groups]
        counts = [eligible_members(None if tree is None else parse_condition(tree)).count() for tree in trees]
    except (ValueError, TypeError) as error:  # bad JSON and invalid trees alike (pydantic's are ValueErrors)
        return JsonResponse({"error": _("The conditions are not complete: %(error)s") % {"error": error}})
    return JsonResponse({"count": counts[0], "groups": counts[1:]})
