"""Reads of campaigns: one campaign with its versions, lists, the live campaigns with what a member may still
earn from them, and the redemption rules of the lots that campaigns accrued."""

import dataclasses
from datetime import datetime

from django.db.models import QuerySet

from kopilka.campaigns.engine import LiveCampaign
from kopilka.campaigns.errors import campaign_not_found
from kopilka.campaigns.models import (
    BudgetShard,
    Campaign,
    CampaignStatusChange,
    CampaignType,
    CampaignVersion,
    MemberUsage,
)
from kopilka.campaigns.rules import CampaignRules, RedemptionRule, parse_rules
from kopilka.core import clock, sql


def get_campaign(code: str) -> Campaign:
    campaign = Campaign.objects.select_related("type").filter(code=code).first()
    if campaign is None:
        raise campaign_not_found(code)
    return campaign


def newest_version(campaign: Campaign) -> CampaignVersion:
    return campaign.versions.latest("number")


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


# The campaigns in force at a moment: within their period, active then (their last status change up to that moment
# made them active) and with the newest version of their rules that had gone live by then.
_LIVE = f"""
SELECT c.id, c.code, c.public_name, t.lot_category, c.priority, c.combination, c.budget_points,
       (SELECT SUM(s.points_left) FROM {BudgetShard._meta.db_table} s WHERE s.campaign_id = c.id),
       v.id, v.number, v.went_live_at
FROM {Campaign._meta.db_table} c
JOIN {CampaignType._meta.db_table} t ON t.id = c.type_id
JOIN {CampaignVersion._meta.db_table} v ON v.campaign_id = c.id
WHERE c.status IN (%(active)s, %(paused)s, %(finished)s) AND c.starts_at <= %(at)s
  AND (c.ends_at IS NULL OR c.ends_at > %(at)s)
  AND (SELECT h.to_status FROM {CampaignStatusChange._meta.db_table} h WHERE h.campaign_id = c.id
       AND h.changed_at <= %(at)s ORDER BY h.changed_at DESC, h.id DESC LIMIT 1) = %(active)s
  AND v.number = (SELECT MAX(n.number) FROM {CampaignVersion._meta.db_table} n
                  WHERE n.campaign_id = c.id AND n.went_live_at <= %(at)s)
ORDER BY c.id
"""

_USAGE = f"""
SELECT campaign_id, period_key, points FROM {MemberUsage._meta.db_table}
WHERE member_id = %s AND campaign_id IN ({{campaigns}})
"""


def live_campaigns(at: datetime | None = None, member_id: int | None = None) -> list[LiveCampaign]:
    """The campaigns in force at `at` (active then, within their period), each with the rules version in force
    then, its budget left and — for a member — what the member may still earn from it in the period of `at`. Two
    reads (three with limits)."""
    at = at or clock.now()
    found = sql.rows(_LIVE, {"active": Campaign.Status.ACTIVE, "paused": Campaign.Status.PAUSED,
                             "finished": Campaign.Status.FINISHED, "at": sql.at(at)})
    rules = _version_rules([(row[8], row[10]) for row in found])
    live = [
        LiveCampaign(
            code=code,
            reference=f"{code}:v{number}",
            public_name=public_name,
            lot_category=lot_category,
            priority=priority,
            combination=combination,
            rules=rules[version],
            budget_left=None if budget is None else int(left or 0),
            limit_left=None,
            campaign_id=pk,
        )
        for pk, code, public_name, lot_category, priority, combination, budget, left, version, number, _ in found
    ]
    return live if member_id is None else with_member_limits(live, member_id, at)


def with_member_limits(campaigns: list[LiveCampaign], member_id: int, at: datetime) -> list[LiveCampaign]:
    """The campaigns (`live_campaigns(at)`) with what the member may still earn from each one with a per-member
    limit, in the period of `at`: one read when any has a limit, none otherwise. Under the member's lock (see
    `locking`) what it reads stays true until the lock is released."""
    limited = [campaign for campaign in campaigns if _has_limit(campaign.rules) and campaign.campaign_id is not None]
    usage = _usage(member_id, [campaign.campaign_id for campaign in limited if campaign.campaign_id is not None])
    return [
        campaign if not _has_limit(campaign.rules) or campaign.campaign_id is None else dataclasses.replace(
            campaign, limit_left=_limit(campaign.rules).points - usage.get(
                (campaign.campaign_id, period_key(_limit(campaign.rules).period, at)), 0)
        )
        for campaign in campaigns
    ]


def _limit(rules: CampaignRules):
    assert rules.accrual is not None and rules.accrual.member_limit is not None
    return rules.accrual.member_limit


def _has_limit(rules: CampaignRules) -> bool:
    return rules.accrual is not None and rules.accrual.member_limit is not None


def _usage(member_id: int | None, campaigns: list[int]) -> dict[tuple[int, str], int]:
    """Points the member earned per (campaign, period key), for these campaigns."""
    if member_id is None or not campaigns:
        return {}
    query = _USAGE.format(campaigns=sql.placeholders(campaigns))
    return {(campaign, key): points for campaign, key, points in sql.rows(query, [member_id, *campaigns])}


# Versions that have been live never change (an edit makes a new version): their parsed rules are kept by id and
# the moment they went live (an id alone could come back after a rolled-back transaction on SQLite).
_FROZEN: dict[tuple[int, object], CampaignRules] = {}
_FROZEN_LIMIT = 10_000


def _version_rules(versions: list[tuple[int, object]]) -> dict[int, CampaignRules]:
    """Parsed rules of these versions [(id, went live at)]; reads the rules of those not kept yet."""
    result = {pk: _FROZEN[pk, live] for pk, live in versions if live is not None and (pk, live) in _FROZEN}
    missing = [pk for pk, _ in versions if pk not in result]
    if missing:
        query = f"SELECT id, rules FROM {CampaignVersion._meta.db_table} WHERE id IN ({sql.placeholders(missing)})"
        for pk, data in sql.rows(query, missing):
            result[pk] = parse_rules(sql.document(data))
        if len(_FROZEN) >= _FROZEN_LIMIT:
            _FROZEN.clear()
        _FROZEN.update({(pk, live): result[pk] for pk, live in versions if live is not None and pk in result})
    return result


_REFERENCED = f"""
SELECT c.code, v.number, v.id, v.went_live_at FROM {CampaignVersion._meta.db_table} v
JOIN {Campaign._meta.db_table} c ON c.id = v.campaign_id WHERE c.code IN ({{codes}})
"""


def rules_of(references: set[str]) -> dict[str, CampaignRules]:
    """The rules of each campaign version reference ("<code>:v<number>") that exists."""
    wanted: dict[str, set[int]] = {}
    for reference in references:
        code, _, number = reference.rpartition(":v")
        if code and number.isdigit():
            wanted.setdefault(code, set()).add(int(number))
    if not wanted:
        return {}
    found = [
        (f"{code}:v{number}", pk, went_live_at)
        for code, number, pk, went_live_at in sql.rows(_REFERENCED.format(codes=sql.placeholders(wanted)),
                                                       list(wanted))
        if number in wanted[code]
    ]
    rules = _version_rules([(pk, went_live_at) for _, pk, went_live_at in found])
    return {reference: rules[pk] for reference, pk, _ in found}


def redemption_rules(references: set[str]) -> dict[str, RedemptionRule]:
    """The redemption rule of each campaign version reference that exists."""
    return {reference: rules.redemption for reference, rules in rules_of(references).items()}
