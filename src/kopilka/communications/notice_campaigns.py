"""Notices of campaigns: a campaign started, and a campaign ending in N days, told to the members it applies to.

They are promo offers (marketing): the members are those the campaign's conditions select now less those it
holds out — its own holdout and the programme's global control group (`campaigns.eligibility.offered_members`);
the global control group is left out of a campaign that is not a promo offer too, as it is of every marketing
message. A campaign is told of once per kind (`CampaignNoticeRun`): "started" within `STARTED_WITHIN` of its first
activation, when that came while the kind was on; "ending" once its end is N days away or nearer. A run that a
worker holds is not run by another, and a run cut short is taken up again (each member's notice is recorded once).
"""

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Min

from kopilka.campaigns.eligibility import HoldoutOf, offered_members
from kopilka.campaigns.engine import LiveCampaign
from kopilka.campaigns.models import Campaign, CampaignStatusChange
from kopilka.campaigns.selectors import live_campaigns
from kopilka.communications import notice_settings
from kopilka.communications.notice_kinds import Kind
from kopilka.communications.notice_messages import tell
from kopilka.communications.notice_models import CampaignNoticeRun, NoticeSetting
from kopilka.core import clock
from kopilka.core.errors import ValidationFailed
from kopilka.core.holdout import in_global_control_group

STARTED_WITHIN = timedelta(days=1)

log = logging.getLogger(__name__)


def campaign_notices(now: datetime | None = None) -> int:
    """Tell the members of the live campaigns due a notice; returns how many members were told (or skipped by the
    delivery rules)."""
    now = now or clock.now()
    started, ending = notice_settings.enabled(Kind.CAMPAIGN_STARTED), notice_settings.enabled(Kind.CAMPAIGN_ENDING)
    if started is None and ending is None:
        return 0
    live = live_campaigns(now)
    ids = [campaign.campaign_id for campaign in live]
    rows = Campaign.objects.in_bulk(ids)
    first_active = dict(CampaignStatusChange.objects.filter(campaign_id__in=ids, to_status=Campaign.Status.ACTIVE)
                        .values("campaign_id").annotate(at=Min("changed_at")).values_list("campaign_id", "at"))
    told = 0
    for campaign in live:
        row = rows[campaign.campaign_id]
        if started is not None and _started_lately(started, first_active.get(row.pk), now):
            told += _run(started, campaign, row, now)
        if ending is not None and _ending_soon(ending, row, now):
            told += _run(ending, campaign, row, now, until=row.ends_at)
    return told


def _started_lately(setting: NoticeSetting, activated: datetime | None, now: datetime) -> bool:
    """First activated within `STARTED_WITHIN` of `now`, while the kind was on."""
    return activated is not None and activated >= now - STARTED_WITHIN and notice_settings.tells_of(setting,
                                                                                                     activated)


def _ending_soon(setting: NoticeSetting, row: Campaign, now: datetime) -> bool:
    """Its end is the setting's days before or nearer."""
    days = setting.days_before or notice_settings.DEFAULT_DAYS
    return row.ends_at is not None and row.ends_at <= now + timedelta(days=days)


def _run(setting: NoticeSetting, campaign: LiveCampaign, row: Campaign, now: datetime,
         until: datetime | None = None) -> int:
    """Tell the campaign's members of `setting`'s kind unless that was done or another worker is doing it."""
    CampaignNoticeRun.objects.get_or_create(campaign=row, kind=setting.kind)
    try:
        with transaction.atomic():
            run = (CampaignNoticeRun.objects.select_for_update(skip_locked=True)
                   .filter(campaign=row, kind=setting.kind, done_at__isnull=True).first())
            if run is None:
                return 0
            run.members = _tell_members(setting, campaign, row, now, until)
            run.done_at = now
            run.save()
            return run.members
    except ValidationFailed as refused:  # a marketing e-mail while the programme has no public address
        log.warning("campaign %s: %s not told: %s", row.code, setting.kind, refused.message)
        return 0


def _tell_members(setting: NoticeSetting, campaign: LiveCampaign, row: Campaign, now: datetime,
                  until: datetime | None) -> int:
    holdout = HoldoutOf(campaign.code, campaign.lot_category, campaign.rules.holdout_percent)
    members = list(offered_members(campaign.rules.conditions, holdout, now).order_by("pk")
                   .values_list("pk", flat=True))
    about = {"name": row.public_name, "first_day": clock.local_date(row.starts_at),
             "last_day": clock.local_date(row.ends_at - timedelta(microseconds=1)) if row.ends_at else None}
    told = 0
    for member_id in members:
        if in_global_control_group(member_id, now):
            continue
        tell(setting, member_id, source=f"campaign:{row.pk}:member:{member_id}", since=now, until=until,
             extra={"campaign": about})
        told += 1
    return told
