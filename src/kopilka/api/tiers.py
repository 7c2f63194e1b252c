"""Tiers over HTTP (SPEC §5): the tiers reference book; a member's tier with what the next one needs; a manual
floor; a paid subscription.

Reading needs `members:read`; a member's floor and subscription `members:write`; the tiers themselves
`campaigns:write` (marketers run them).
"""

from datetime import datetime
from decimal import Decimal
from typing import Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Path, Router, Schema

from kopilka.api.auth import scoped
from kopilka.api.common import ERRORS, LONG_TEXT, Amount, IdempotencyKey, length_of
from kopilka.api.idempotency import idempotent_write
from kopilka.core import audit
from kopilka.tiers import services
from kopilka.tiers.models import MemberTier, Tier, TierChange

router = Router(tags=["tiers"])
TIER_CODE = length_of(Tier, "code")


class TierIn(Schema):
    name: str = Field(min_length=1, max_length=length_of(Tier, "name"))
    rank: int = Field(ge=0, le=1000)
    basis: Literal["turnover", "points", "subscription"] = "turnover"
    threshold: Amount = Field(Decimal(0), ge=0, max_digits=14, decimal_places=2)
    window_days: int = Field(365, gt=0, le=3650)
    privileges: str = Field("", max_length=LONG_TEXT)


class TierOut(TierIn):
    code: str


class MemberTierOut(Schema):
    member_id: int
    tier: str | None
    since: datetime | None
    floor: str | None
    subscription: str | None
    subscription_until: datetime | None
    next_tier: str | None
    next_tier_basis: str | None
    measure: Decimal | None = Field(description="the member's turnover or points toward the next tier")
    needed: Decimal | None = Field(description="how much more reaches the next tier")


class FloorIn(Schema):
    tier: str | None = Field(max_length=TIER_CODE)
    reason: str = Field(min_length=1, max_length=length_of(TierChange, "reason"))


class SubscriptionIn(Schema):
    tier: str = Field(max_length=TIER_CODE)
    months: int = Field(gt=0, le=36)


def _tier_out(tier: Tier) -> dict:
    return {"code": tier.code, "name": tier.name, "rank": tier.rank, "basis": tier.basis, "threshold": tier.threshold,
            "window_days": tier.window_days, "privileges": tier.privileges}


def _member_out(member_id: int) -> dict:
    progress = services.progress(member_id)
    state = MemberTier.objects.filter(member_id=member_id).select_related("floor", "subscription_tier").first()
    return {
        "member_id": member_id, "tier": progress.tier.code if progress.tier else None,
        "since": state.since if state else None, "floor": state.floor.code if state and state.floor else None,
        "subscription": state.subscription_tier.code if state and state.subscription_tier else None,
        "subscription_until": state.subscription_until if state else None,
        "next_tier": progress.next_tier.code if progress.next_tier else None,
        "next_tier_basis": progress.next_tier.basis if progress.next_tier else None,
        "measure": progress.measure, "needed": progress.needed,
    }


@router.get("/", auth=scoped("members:read"), response={200: list[TierOut], **ERRORS})
def list_tiers(request: HttpRequest):
    return [_tier_out(t) for t in Tier.objects.all()]


@router.put("/{code}", auth=scoped("campaigns:write"), response={200: TierOut, 201: TierOut, **ERRORS})
def put_tier(request: HttpRequest, body: TierIn, code: str = Path(..., max_length=TIER_CODE),
             idempotency_key: str | None = IdempotencyKey):
    def work(principal):
        tier, created = services.upsert_tier(code=code, **body.model_dump())
        audit.record(None, "tier.saved", _("Saved tier %(code)s") % {"code": code}, actor=principal.actor,
                     target=f"tiers.tier:{tier.pk}", details=payload)
        return (201 if created else 200), _tier_out(tier)

    payload = {"code": code, **body.model_dump(mode="json")}
    return idempotent_write(request, idempotency_key, "tiers.put", payload, work)


@router.get("/members/{int:member_id}", auth=scoped("members:read"), response={200: MemberTierOut, **ERRORS})
def member_tier(request: HttpRequest, member_id: int):
    """The member's tier and what is needed for the next one."""
    return _member_out(member_id)


@router.post("/members/{int:member_id}/floor", auth=scoped("members:write"), response={200: MemberTierOut, **ERRORS})
def put_floor(request: HttpRequest, member_id: int, body: FloorIn, idempotency_key: str | None = IdempotencyKey):
    def work(principal):
        services.set_floor(member_id, body.tier, actor=principal.actor, reason=body.reason)
        return 200, _member_out(member_id)

    payload = {"member": member_id, **body.model_dump()}
    return idempotent_write(request, idempotency_key, "tiers.floor", payload, work)


@router.post("/members/{int:member_id}/subscription", auth=scoped("members:write"),
             response={200: MemberTierOut, **ERRORS})
def post_subscription(request: HttpRequest, member_id: int, body: SubscriptionIn,
                      idempotency_key: str | None = IdempotencyKey):
    def work(principal):
        services.subscribe(member_id, body.tier, months=body.months, actor=principal.actor)
        return 200, _member_out(member_id)

    return idempotent_write(request, idempotency_key, "tiers.subscription",
                  {"member": member_id, **body.model_dump()}, work)
