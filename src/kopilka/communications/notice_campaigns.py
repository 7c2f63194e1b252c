"""Notices of campaigns: a campaign started, and a campaign ending in N days, told to the members it applies to.

They are promo offers (marketing): the members are those the campaign's conditions select at the run's start less
those it holds out — its own holdout and the programme's global control group (`campaigns.eligibility.offered_members`);
the global control group is left out of a campaign that is not a promo offer too, as it is of every marketing
message. A campaign is told of once per kind (`CampaignNoticeRun`): "started" within `STARTED_WITHIN` of its first
activation, when that came while the kind was on; "ending" once its end is N days away or nearer.

A run is written set-based, CHUNK members at a time by id: each chunk is one INSERT … SELECT of its members' messages
in its own short transaction, which also moves the run's cursor and count, so a long run shows its progress, a run
that a worker holds is not run by another, and one cut short is taken up again after its last committed chunk; a
member's notice has one source, so it is never written twice. Each message is decided in that statement as
`services.notify` decides one (`rules_sql`: address, consent, frequency cap, quiet hours; too late when already
past its relevance — the template's window counted from the run's start, never past the campaign's end), written
without its text and filled from the run's template right before its send (`notice_texts`), where the outbox holds
it to the rules once more. On PostgreSQL a chunk locks its members first, as `notify` locks its one.
"""

import logging
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Min

from kopilka.campaigns.eligibility import HoldoutOf, offered_members
from kopilka.campaigns.engine import LiveCampaign
from kopilka.campaigns.models import Campaign, CampaignStatusChange
from kopilka.campaigns.selectors import live_campaigns
from kopilka.communications import notice_settings, rules, rules_sql, services
from kopilka.communications.journeys import rows
from kopilka.communications.message_templates import relevance_end
from kopilka.communications.models import Message
from kopilka.communications.notice_kinds import KINDS, Kind
from kopilka.communications.notice_models import CampaignNoticeRun, NoticeSetting
from kopilka.communications.notice_texts import source_prefix
from kopilka.core import clock, sql
from kopilka.core.errors import ValidationFailed
from kopilka.core.holdout import global_control_group_sql
from kopilka.customers.models import Member, Region

STARTED_WITHIN = timedelta(days=1)
CHUNK = 5_000

_MESSAGES, _MEMBERS, _REGIONS = Message._meta.db_table, Member._meta.db_table, Region._meta.db_table

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
    records = Campaign.objects.in_bulk(ids)
    first_active = dict(CampaignStatusChange.objects.filter(campaign_id__in=ids, to_status=Campaign.Status.ACTIVE)
                        .values("campaign_id").annotate(at=Min("changed_at")).values_list("campaign_id", "at"))
    told = 0
    for campaign in live:
        row = records[campaign.campaign_id]
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
    """Tell the campaign's members of `setting`'s kind, chunk by chunk, unless that was done or another worker is
    doing it; how many messages were written now."""
    CampaignNoticeRun.objects.get_or_create(campaign=row, kind=setting.kind)
    told = 0
    try:
        while (written := tell_chunk(setting, campaign, row, now, until)) is not None:
            told += written
    except ValidationFailed as refused:  # a marketing e-mail while the programme has no public address
        log.warning("campaign %s: %s not told: %s", row.code, setting.kind, refused.message)
    return told


def tell_chunk(setting: NoticeSetting, campaign: LiveCampaign, row: Campaign, now: datetime,
               until: datetime | None) -> int | None:
    """Write the notices of the run's next CHUNK members and move its cursor past them, in one transaction; how many
    were written (None: the run is done — marked so now when no member is left — or another worker holds it)."""
    with transaction.atomic():
        run = (CampaignNoticeRun.objects.select_for_update(skip_locked=True, of=("self",)).select_related("template")
               .filter(campaign=row, kind=setting.kind, done_at__isnull=True).first())
        if run is None:
            return None
        if run.started_at is None:
            run.started_at, run.template = now, setting.template
        members = _next_members(campaign, run.started_at, after=run.through_member)
        if not members:
            run.done_at = now
            run.save()
            return None
        services.check_public_url(run.template.channel, KINDS[run.kind].purpose)
        written = _write(run, members, until)
        run.through_member, run.members = members[-1], run.members + written
        run.save()
    return written


def _next_members(campaign: LiveCampaign, at: datetime, *, after: int) -> list[int]:
    """The ids, in order, of the next CHUNK members past id `after` the notice is for at `at`: offered the campaign
    and outside the programme's global control group."""
    holdout = HoldoutOf(campaign.code, campaign.lot_category, campaign.rules.holdout_percent)
    offered, params = (offered_members(campaign.rules.conditions, holdout, at).filter(pk__gt=after).order_by()
                       .values("pk").query.sql_with_params())
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT o.pk FROM ({offered}) o WHERE NOT ({global_control_group_sql('o.pk', at)})"
                       f" ORDER BY o.pk LIMIT {int(CHUNK)}", params)
        return [member_id for (member_id,) in cursor.fetchall()]


def _write(run: CampaignNoticeRun, members: list[int], until: datetime | None) -> int:
    """One INSERT … SELECT of the members' notices not yet written, each decided by the rules (see the module's
    docstring); how many were written."""
    postgres = connection.vendor == "postgresql"
    if postgres:
        rows.write(f"SELECT id FROM {_MEMBERS} WHERE {rows.in_ids('id')} ORDER BY id FOR NO KEY UPDATE",
                   [rows.ids(members)])
    template, channel, now = run.template, run.template.channel, clock.now()
    ends = [moment for moment in (relevance_end(template, run.started_at), until) if moment is not None]
    relevant_until = min(ends) if ends else None
    late = f"'{Message.SkipReason.TOO_LATE.value}'" if rules.too_late(now, relevant_until) else "NULL"
    reason, reason_params = rules_sql.marketing_reason(channel, now)
    quiet, quiet_params = rules_sql.quiet_until(now)
    moment = "CAST(%s AS TIMESTAMPTZ)" if postgres else "%s"
    statement = f"""
        INSERT INTO {_MESSAGES} (member_id, channel, purpose, kind, source, "to", subject, body, status, skip_reason,
                                 attempts, error, created_at, provider_id, unsubscribe_url, uid, leased_by, next_try_at,
                                 relevant_until)
        SELECT d.member_id, CAST(%s AS TEXT), CAST(%s AS TEXT), CAST(%s AS TEXT), {rows.concat("%s", "d.member_id")},
               d.address, '', '', CASE WHEN d.reason IS NULL THEN 'queued' ELSE 'skipped' END, COALESCE(d.reason, ''),
               0, '', {moment}, '', '', {rows.new_uuid()}, '', CASE WHEN d.reason IS NULL THEN d.quiet END, {moment}
        FROM (SELECT m.id AS member_id, {rules_sql.address(channel)} AS address, COALESCE({reason}, {late}) AS reason,
                     {quiet} AS quiet
              FROM {_MEMBERS} m LEFT JOIN {_REGIONS} r ON r.id = m.region_id
              WHERE {rows.in_ids("m.id")}
                AND NOT EXISTS (SELECT 1 FROM {_MESSAGES} x
                                WHERE x.kind = %s AND x.source = {rows.concat("%s", "m.id")}){rows.kept_apart()}) d
    """
    prefix = source_prefix(run.campaign_id)
    at = None if relevant_until is None else sql.at(relevant_until)
    return rows.write(statement, [
        channel, KINDS[run.kind].purpose, run.kind, prefix, sql.at(now), at,
        *reason_params, *quiet_params, rows.ids(members), run.kind, prefix,
    ])
