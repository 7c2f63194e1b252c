"""Campaigns over HTTP (SPEC §3): the types reference book, campaigns, their rules (versioned), the lifecycle
and the live count of eligible members.

Writes need `campaigns:write` and an `Idempotency-Key`; reads need `campaigns:read`.
"""

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from kopilka.api.auth import scoped
from kopilka.api.common import CODE_PATTERN, ERRORS, IdempotencyKey, code_path, length_of
from kopilka.api.idempotency import idempotent_write
from kopilka.campaigns import selectors, services
from kopilka.campaigns.conditions import parse
from kopilka.campaigns.eligibility import HoldoutOf, eligible_members, eligible_split
from kopilka.campaigns.models import Campaign, CampaignType
from kopilka.campaigns.rules import parse_rules

router = Router(tags=["campaigns"])

READ = "campaigns:read"
WRITE = "campaigns:write"
Action = Literal["schedule", "activate", "pause", "finish"]


class TypeIn(Schema):
    name: str = Field(max_length=length_of(CampaignType, "name"))
    lot_category: str = Field(max_length=length_of(CampaignType, "lot_category"),
                              description="Ledger category of the points: base, promo, compensation, ...")


class TypeOut(Schema):
    code: str
    name: str
    lot_category: str


class CampaignIn(Schema):
    code: str = Field(pattern=CODE_PATTERN, max_length=60)
    name: str = Field(max_length=length_of(Campaign, "name"))
    public_name: str = Field("", max_length=length_of(Campaign, "public_name"))
    type: str = Field(max_length=length_of(CampaignType, "code"))
    starts_at: datetime
    ends_at: datetime | None = None
    months: int | None = Field(None, gt=0, le=120, description="Instead of ends_at: the period in months.")
    priority: int = 100
    combination: Literal["stack", "exclusive"] = "stack"
    budget_points: int | None = Field(None, gt=0)
    rules: dict[str, Any] = Field(description="See CampaignRules: conditions, accrual, redemption, expiry.")


class CampaignPatch(Schema):
    name: str | None = Field(None, max_length=length_of(Campaign, "name"))
    public_name: str | None = Field(None, max_length=length_of(Campaign, "public_name"))
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    priority: int | None = None
    combination: Literal["stack", "exclusive"] | None = None
    budget_points: int | None = Field(None, gt=0)


class RulesIn(Schema):
    rules: dict[str, Any]
    comment: str = Field("", max_length=500)


class ActionIn(Schema):
    comment: str = Field("", max_length=500)


class VersionOut(Schema):
    number: int
    reference: str
    rules: dict[str, Any]
    went_live_at: datetime | None
    created_at: datetime
    created_by: str
    comment: str


class StatusChangeOut(Schema):
    from_status: str
    to_status: str
    actor: str
    comment: str
    changed_at: datetime


class CampaignOut(Schema):
    code: str
    name: str
    public_name: str
    type: str
    status: str
    starts_at: datetime
    ends_at: datetime | None
    priority: int
    combination: str
    budget_points: int | None
    budget_spent: int
    version: VersionOut


class CampaignDetailOut(CampaignOut):
    versions: list[VersionOut]
    status_changes: list[StatusChangeOut]


class EligibleOut(Schema):
    count: int
    sample: list[int] = Field(description="Ids of up to 20 eligible members.")
    control_group: int = Field(description="Of them, in the programme's control group this month (promo only).")
    held_out: int = Field(description="Of them, held out by the campaign's own control group (promo only).")
    offered: int = Field(description="Of them, offered the campaign: neither held out nor in the programme's group.")


def _version_out(version) -> dict:
    return {
        "number": version.number, "reference": version.reference, "rules": version.rules,
        "went_live_at": version.went_live_at, "created_at": version.created_at, "created_by": version.created_by,
        "comment": version.comment,
    }


def _campaign_out(campaign: Campaign, detail: bool = False) -> dict:
    out = {
        "code": campaign.code, "name": campaign.name, "public_name": campaign.public_name,
        "type": campaign.type.code, "status": campaign.status, "starts_at": campaign.starts_at,
        "ends_at": campaign.ends_at, "priority": campaign.priority, "combination": campaign.combination,
        "budget_points": campaign.budget_points, "budget_spent": campaign.budget_spent,
        "version": _version_out(selectors.newest_version(campaign)),
    }
    if detail:
        out["versions"] = [_version_out(v) for v in campaign.versions.order_by("number")]
        out["status_changes"] = list(
            campaign.status_changes.values("from_status", "to_status", "actor", "comment", "changed_at")
        )
    return out


@router.get("/types", auth=scoped(READ), response={200: list[TypeOut], **ERRORS})
def list_types(request: HttpRequest):
    return list(CampaignType.objects.values("code", "name", "lot_category"))


@router.put("/types/{code}", auth=scoped(WRITE), response={200: TypeOut, 201: TypeOut, **ERRORS})
def put_type(request: HttpRequest, body: TypeIn, code: str = code_path(30),
             idempotency_key: str | None = IdempotencyKey):
    """Adds a campaign type to the reference book (201) or renames it (200)."""

    def work(principal):
        campaign_type, created = services.upsert_type(code=code, name=body.name, lot_category=body.lot_category,
                                                       actor=principal.actor)
        return (201 if created else 200), {"code": campaign_type.code, "name": campaign_type.name,
                                           "lot_category": campaign_type.lot_category}

    payload = {"code": code, **body.model_dump()}
    return idempotent_write(request, idempotency_key, "campaigns.type", payload, work)


@router.get("/", auth=scoped(READ), response={200: list[CampaignOut], **ERRORS})
def list_campaigns(request: HttpRequest,
                   status: str | None = Query(None, max_length=length_of(Campaign, "status"))):
    return [_campaign_out(c) for c in selectors.list_campaigns(status)]


@router.post("/", auth=scoped(WRITE), response={201: CampaignDetailOut, **ERRORS})
def create_campaign(request: HttpRequest, body: CampaignIn, idempotency_key: str | None = IdempotencyKey):
    def work(principal):
        campaign = services.create_campaign(actor=principal.actor, **body.model_dump())
        return 201, _campaign_out(selectors.get_campaign(campaign.code), detail=True)

    payload = body.model_dump(mode="json")
    return idempotent_write(request, idempotency_key, "campaigns.create", payload, work)


@router.get("/{code}", auth=scoped(READ), response={200: CampaignDetailOut, **ERRORS})
def get_campaign(request: HttpRequest, code: str):
    return _campaign_out(selectors.get_campaign(code), detail=True)


@router.patch("/{code}", auth=scoped(WRITE), response={200: CampaignDetailOut, **ERRORS})
def update_campaign(request: HttpRequest, code: str, body: CampaignPatch, idempotency_key: str | None = IdempotencyKey):
    changes = body.model_dump(exclude_unset=True)

    def work(principal):
        services.update_campaign(code=code, actor=principal.actor, **changes)
        return 200, _campaign_out(selectors.get_campaign(code), detail=True)

    payload = {"code": code, **body.model_dump(mode="json", exclude_unset=True)}
    return idempotent_write(request, idempotency_key, "campaigns.update", payload, work)


@router.put("/{code}/rules", auth=scoped(WRITE), response={200: CampaignDetailOut, **ERRORS})
def put_rules(request: HttpRequest, code: str, body: RulesIn, idempotency_key: str | None = IdempotencyKey):
    """New rules; a campaign that has been live gets a new version, its live versions stay as they were."""

    def work(principal):
        services.update_rules(code=code, rules=body.rules, actor=principal.actor, comment=body.comment)
        return 200, _campaign_out(selectors.get_campaign(code), detail=True)

    payload = {"code": code, **body.model_dump(mode="json")}
    return idempotent_write(request, idempotency_key, "campaigns.rules", payload, work)


@router.get("/{code}/eligible", auth=scoped(READ), response={200: EligibleOut, **ERRORS})
def eligible(request: HttpRequest, code: str):
    """How many active members the campaign's conditions select now (every active member when it has none), and how
    many of them a promo campaign holds out: the programme's control group and the campaign's own share."""
    campaign = selectors.get_campaign(code)
    rules = selectors.newest_version(campaign).rules
    condition = parse(rules["conditions"]) if rules.get("conditions") else None
    split = eligible_split(condition, HoldoutOf(code, campaign.type.lot_category, parse_rules(rules).holdout_percent))
    sample = list(eligible_members(condition).order_by("pk").values_list("pk", flat=True)[:20])
    return {"count": split.members, "sample": sample, "control_group": split.control_group,
            "held_out": split.held_out, "offered": split.offered}


@router.post("/{code}/{action}", auth=scoped(WRITE), response={200: CampaignDetailOut, **ERRORS})
def change_status(
    request: HttpRequest, code: str, action: Action, body: ActionIn, idempotency_key: str | None = IdempotencyKey
):
    """schedule, activate, pause or finish."""

    def work(principal):
        services.change_status(code=code, action=action, actor=principal.actor, comment=body.comment)
        return 200, _campaign_out(selectors.get_campaign(code), detail=True)

    payload = {"code": code, "action": action, **body.model_dump()}
    return idempotent_write(request, idempotency_key, "campaigns.status", payload, work)
