"""Reads of campaigns: one campaign with its versions, lists, the live campaigns with what a member may still
earn from them, and the redemption rules of the lots that campaigns accrued."""

import json
from datetime import datetime

from django.db.models import Q, QuerySet

from kopilka.campaigns.engine import LiveCampaign
from kopilka.campaigns.errors import campaign_not_found
from kopilka.campaigns.models import Campaign, CampaignVersion, MemberUsage
from kopilka.campaigns.rules import CampaignRules, RedemptionRule, parse_rules
from kopilka.core import clock


def get_campaign(code: str) -> Campaign:
    campaign = Campaign.objects.select_related("type").filter(code=code).first()
    if campaign is None:
        raise campaign_not_found(code)
    return campaign


def newest_version(campaign: Campaign) -> CampaignVersion:
    return campaign.versions.order_by("-number").first()


def list_campaigns(status: str | None = None) -> QuerySet[Campaign]:
    campaigns = Campaign.objects.select_related("type")
    return campaigns.filter(status=status) if status else campaigns


def period_key(period: str, at: datetime) -> str:
    """The calendar period of `at` (programme time zone) that a per-member limit of that `period` counts in."""
    day = clock.local_date(at)
    if period == "day":
        return day.isoformat()
    if period == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if period == "month":
        return f"{day:%Y-%m}"
    if period == "year":
        return f"{day:%Y}"
    return "campaign"


def live_campaigns(at: datetime | None = None, member_id: int | None = None) -> list[LiveCampaign]:
    """Active campaigns whose period covers `at`, each with its newest rules, its budget left and — for a
    member — what the member may still earn from it in the current period."""
    at = at or clock.now()
    campaigns = list(
        Campaign.objects.filter(status=Campaign.Status.ACTIVE, starts_at__lte=at)
        .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=at))
        .select_related("type")
    )
    newest = {}
    for campaign_id, number, data in CampaignVersion.objects.filter(campaign__in=campaigns).values_list(
        "campaign_id", "number", "rules"
    ):
        if campaign_id not in newest or number > newest[campaign_id][0]:
            newest[campaign_id] = (number, data)
    live = []
    for campaign in campaigns:
        number, data = newest[campaign.pk]
        rules = _parsed(data)
        live.append(
            LiveCampaign(
                code=campaign.code,
                reference=f"{campaign.code}:v{number}",
                public_name=campaign.public_name,
                lot_category=campaign.type.lot_category,
                priority=campaign.priority,
                combination=campaign.combination,
                rules=rules,
                budget_left=None if campaign.budget_points is None else campaign.budget_points - campaign.budget_spent,
                limit_left=_limit_left(campaign, rules, member_id, at),
            )
        )
    return live


# Parsed rules by their canonical JSON: parsing is the costly part, and the same text always parses the same.
_PARSED: dict[str, CampaignRules] = {}
_PARSED_LIMIT = 10_000


def _parsed(data: dict) -> CampaignRules:
    text = json.dumps(data, sort_keys=True)
    rules = _PARSED.get(text)
    if rules is None:
        if len(_PARSED) >= _PARSED_LIMIT:
            _PARSED.clear()
        rules = _PARSED[text] = parse_rules(data)
    return rules


def _limit_left(campaign: Campaign, rules: CampaignRules, member_id: int | None, at: datetime) -> int | None:
    limit = rules.accrual.member_limit if rules.accrual else None
    if limit is None or member_id is None:
        return None
    used = (
        MemberUsage.objects.filter(campaign=campaign, member_id=member_id, period_key=period_key(limit.period, at))
        .values_list("points", flat=True)
        .first()
    )
    return limit.points - (used or 0)


def redemption_rules(references: set[str]) -> dict[str, RedemptionRule]:
    """The redemption rule of each campaign version reference ("<code>:v<number>") that exists."""
    wanted = {}
    for reference in references:
        code, _, number = reference.rpartition(":v")
        if code and number.isdigit():
            wanted.setdefault(code, set()).add(int(number))
    query = Q(pk__in=[])
    for code, numbers in wanted.items():
        query |= Q(campaign__code=code, number__in=numbers)
    return {
        f"{code}:v{number}": _parsed(data).redemption
        for code, number, data in CampaignVersion.objects.filter(query).values_list("campaign__code", "number", "rules")
    }

