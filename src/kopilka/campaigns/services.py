"""Writes of campaigns: create, edit the rules (a new version once live), and the lifecycle

    draft → scheduled → active ⇄ paused → finished        (draft → active and any → finished too)

Every status change is recorded with who and why. `advance_schedule(now)` starts scheduled campaigns whose time
has come and finishes those whose end has passed; the worker runs it every minute.
"""

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _
from pydantic import ValidationError

from kopilka.campaigns import budgets, holdout
from kopilka.campaigns.errors import RulesInvalid, TransitionRefused, campaign_not_found
from kopilka.campaigns.models import Campaign, CampaignStatusChange, CampaignType, CampaignVersion, EventType
from kopilka.campaigns.rules import CampaignRules, parse_rules
from kopilka.core import audit, clock
from kopilka.core.errors import ValidationFailed, check_code
from kopilka.ledger.models import LotCategory

DEBT_CATEGORY = "debt"  # the ledger's own category for points owed; no campaign accrues into it
S = Campaign.Status
TRANSITIONS = {
    "schedule": ({S.DRAFT}, S.SCHEDULED),
    "activate": ({S.DRAFT, S.SCHEDULED, S.PAUSED}, S.ACTIVE),
    "pause": ({S.ACTIVE}, S.PAUSED),
    "finish": ({S.DRAFT, S.SCHEDULED, S.ACTIVE, S.PAUSED}, S.FINISHED),
}
EDITABLE = ("name", "public_name", "starts_at", "ends_at", "priority", "combination", "budget_points")


def check_rules(data: dict) -> CampaignRules:
    """The rules as a typed document, or RulesInvalid listing where and what is wrong."""
    try:
        rules = parse_rules(data)
    except ValidationError as error:
        problems = [
            {"location": [str(p) for p in e["loc"]], "problem": e["msg"], "type": e["type"]} for e in error.errors()
        ]
        raise RulesInvalid(details={"problems": problems}) from None
    wanted = set(rules.accrual.event_types) if rules.accrual else set()
    unknown = sorted(wanted - set(EventType.objects.filter(code__in=wanted).values_list("code", flat=True)))
    if unknown:
        raise RulesInvalid(details={"problems": [
            {"location": ["accrual", "event_types"], "problem": f"unknown event types: {', '.join(unknown)}",
             "type": "unknown_event_type"}]})
    return rules


def upsert_type(*, code: str, name: str, lot_category: str, actor: str) -> tuple[CampaignType, bool]:
    """Adds a campaign type to the reference book or renames it; its points go to ledger category `lot_category`."""
    check_code(code)
    if not LotCategory.objects.filter(code=lot_category).exclude(code=DEBT_CATEGORY).exists():
        raise ValidationFailed(_("No such lot category."), details={"lot_category": lot_category})
    if not name.strip():
        raise ValidationFailed(_("The campaign type needs a name."), details={"field": "name"})
    with transaction.atomic():
        campaign_type, created = CampaignType.objects.select_for_update().get_or_create(
            code=code, defaults={"name": name.strip(), "lot_category": lot_category}
        )
        if not created:
            campaign_type.name, campaign_type.lot_category = name.strip(), lot_category
            campaign_type.save()
        audit.record(None, "campaign_type.saved", _("Saved campaign type %(code)s") % {"code": code}, actor=actor,
                     target=f"campaigns.campaigntype:{code}",
                     details={"name": name.strip(), "lot_category": lot_category, "created": created})
    return campaign_type, created


def create_campaign(
    *,
    code: str,
    name: str,
    type: str,
    starts_at: datetime,
    rules: dict,
    actor: str,
    public_name: str = "",
    ends_at: datetime | None = None,
    months: int | None = None,
    priority: int = 100,
    combination: str = Campaign.Combination.STACK,
    budget_points: int | None = None,
) -> Campaign:
    """A draft with version 1 of its rules. The period is starts_at–ends_at, or starts_at plus `months`."""
    check_code(code)
    checked = check_rules(rules)
    campaign_type = CampaignType.objects.filter(code=type).first()
    if campaign_type is None:
        raise ValidationFailed(_("No such campaign type."), code="campaign_type_not_found", details={"type": type})
    _check_holdout(checked, campaign_type)
    starts_at = clock.make_aware(starts_at)
    if months is not None:
        if ends_at is not None:
            raise ValidationFailed(_("Give either the end or the number of months, not both."))
        ends_at = clock.add_months(starts_at, months)
    campaign = Campaign(
        code=code, name=name, public_name=public_name or name, type=campaign_type, starts_at=starts_at,
        ends_at=clock.make_aware(ends_at) if ends_at else None, priority=priority, combination=combination,
        budget_points=budget_points,
    )
    _check(campaign)
    with transaction.atomic():
        if Campaign.objects.filter(code=code).exists():
            raise ValidationFailed(_("A campaign with this code exists."), code="campaign_exists",
                                   details={"code": code})
        campaign.save()
        if budget_points is not None:
            budgets.resize(campaign, budget_points, before=None)
        CampaignVersion.objects.create(
            campaign=campaign, number=1, rules=checked.model_dump(mode="json"), created_at=clock.now(),
            created_by=actor,
        )
        audit.record(None, "campaign.created", _("Created campaign %(code)s") % {"code": code}, actor=actor,
                     target=f"campaigns.campaign:{campaign.pk}", details={"rules": checked.model_dump(mode="json")})
    return campaign


def update_campaign(*, code: str, actor: str, **changes: Any) -> Campaign:
    """Changes the campaign's own fields (not its rules); a finished campaign is closed."""
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise ValidationFailed(_("These fields cannot be changed here."), details={"fields": unknown})
    with transaction.atomic():
        campaign = _locked(code)
        _refuse_if_finished(campaign)
        budget_before = campaign.budget_points
        moved = {}
        for name, value in changes.items():
            if name in ("starts_at", "ends_at") and value is not None:
                value = clock.make_aware(value)
            if getattr(campaign, name) != value:
                moved[name] = [_text(getattr(campaign, name)), _text(value)]
            setattr(campaign, name, value)
        _check(campaign)
        if campaign.budget_points != budget_before:
            budgets.resize(campaign, campaign.budget_points, before=budget_before)
        campaign.save()
        if moved:
            audit.record(None, "campaign.changed", _("Changed campaign %(code)s: %(names)s") % {
                "code": code, "names": ", ".join(moved)}, actor=actor, target=f"campaigns.campaign:{campaign.pk}",
                details=moved)
    return campaign


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def update_rules(*, code: str, rules: dict, actor: str, comment: str = "") -> CampaignVersion:
    """New rules: the newest version is edited in place while it has never been live; otherwise (the live rules
    are frozen) a new version is made, in force at once if the campaign is active."""
    typed = check_rules(rules)
    checked = typed.model_dump(mode="json")
    with transaction.atomic():
        campaign = _locked(code)
        _refuse_if_finished(campaign)
        _check_holdout(typed, campaign.type)
        newest = campaign.versions.latest("number")
        if newest.rules == checked:
            return newest
        if newest.went_live_at is None:
            newest.rules, newest.comment, newest.created_by = checked, comment, actor
            newest.save(update_fields=["rules", "comment", "created_by"])
            version = newest
        else:
            now = clock.now()
            version = CampaignVersion.objects.create(
                campaign=campaign, number=newest.number + 1, rules=checked, created_at=now, created_by=actor,
                comment=comment, went_live_at=now if campaign.status == S.ACTIVE else None,
            )
        audit.record(None, "campaign.rules_changed", _("Changed the rules of campaign %(code)s (version %(v)d)") % {
            "code": code, "v": version.number}, actor=actor, target=f"campaigns.campaign:{campaign.pk}",
            comment=comment, details={"version": version.number, "rules": checked})
        return version


def change_status(*, code: str, action: str, actor: str, comment: str = "", now: datetime | None = None) -> Campaign:
    """One lifecycle action: schedule, activate, pause or finish."""
    if action not in TRANSITIONS:
        raise ValidationFailed(_("Unknown action."), details={"action": action, "known": list(TRANSITIONS)})
    allowed_from, target = TRANSITIONS[action]
    now = now or clock.now()
    with transaction.atomic():
        campaign = _locked(code)
        if campaign.status not in allowed_from:
            raise TransitionRefused(details={"status": campaign.status, "action": action})
        if target == S.SCHEDULED and campaign.starts_at <= now:
            raise TransitionRefused(
                _("The campaign's start has passed: activate it instead."), details={"starts_at": campaign.starts_at}
            )
        if target == S.ACTIVE and campaign.ends_at is not None and campaign.ends_at <= now:
            raise TransitionRefused(_("The campaign's period is over."), details={"ends_at": campaign.ends_at})
        _move(campaign, target, actor, comment, now)
    return campaign


def advance_schedule(now: datetime | None = None, actor: str = "system:schedule") -> dict[str, int]:
    """Starts the scheduled campaigns whose start has come and finishes those whose end has passed."""
    now = now or clock.now()
    moved = {"started": 0, "finished": 0}
    for code in Campaign.objects.filter(status__in=[S.SCHEDULED, S.ACTIVE, S.PAUSED], ends_at__lte=now).values_list(
        "code", flat=True
    ):
        moved["finished"] += _move_if(code, {S.SCHEDULED, S.ACTIVE, S.PAUSED}, S.FINISHED, actor, now)
    for code in Campaign.objects.filter(status=S.SCHEDULED, starts_at__lte=now).values_list("code", flat=True):
        moved["started"] += _move_if(code, {S.SCHEDULED}, S.ACTIVE, actor, now)
    return moved


def _move_if(code: str, allowed: set[str], target: str, actor: str, now: datetime) -> int:
    with transaction.atomic():
        campaign = _locked(code)
        if campaign.status not in allowed:
            return 0  # another worker was first
        _move(campaign, target, actor, _("by schedule"), now)
        return 1


def _move(campaign: Campaign, target: str, actor: str, comment, now: datetime) -> None:
    CampaignStatusChange.objects.create(
        campaign=campaign, from_status=campaign.status, to_status=target, actor=actor, comment=str(comment),
        changed_at=now,
    )
    audit.record(None, f"campaign.{target}", _("Campaign %(code)s: %(before)s → %(after)s") % {
        "code": campaign.code, "before": S(campaign.status).label, "after": S(target).label}, actor=actor,
        target=f"campaigns.campaign:{campaign.pk}", comment=str(comment))
    campaign.status = target
    campaign.save(update_fields=["status", "updated_at"])
    if target == S.ACTIVE:
        campaign.versions.filter(went_live_at__isnull=True).update(went_live_at=now)


def _locked(code: str) -> Campaign:
    campaign = Campaign.objects.select_for_update(no_key=True).filter(code=code).first()
    if campaign is None:
        raise campaign_not_found(code)
    return campaign


def _refuse_if_finished(campaign: Campaign) -> None:
    if campaign.status == S.FINISHED:
        raise TransitionRefused(_("A finished campaign cannot be changed."), details={"status": campaign.status})


def _check_holdout(rules: CampaignRules, campaign_type: CampaignType) -> None:
    """Only promo offers hold members out (`campaigns.holdout`): base earning and compensation reach everybody."""
    if rules.holdout_percent and not holdout.is_promo(campaign_type.lot_category):
        raise RulesInvalid(_("Only a promo campaign holds out a control group: base earning and compensation "
                             "reach every member they select."), details={"problems": [
            {"location": ["holdout_percent"], "problem": "only promo campaigns hold members out",
             "type": "holdout_not_promo"}]})


def _check(campaign: Campaign) -> None:
    if not campaign.name.strip():
        raise ValidationFailed(_("The campaign needs a name."), details={"field": "name"})
    if campaign.ends_at is not None and campaign.ends_at <= campaign.starts_at:
        raise ValidationFailed(_("The campaign must end after it starts."), details={"field": "ends_at"})
    if campaign.budget_points is not None and campaign.budget_points < 1:
        raise ValidationFailed(
            _("The budget must be positive and not below what was already granted."),
            details={"field": "budget_points", "spent": 0},
        )
    if campaign.combination not in Campaign.Combination.values:
        raise ValidationFailed(_("Unknown combination."), details={"known": list(Campaign.Combination.values)})
