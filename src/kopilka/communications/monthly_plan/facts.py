"""The monthly plan against what happened (SPEC §8.3), read set-based:

- each mechanic: its segment (its own conditions, else those of the campaign or mailing it links, else every
  member) as it stood on the month's first moment — active members registered by then —, how many of them bought
  (a counted order: paid, shipped, completed) in the month, up to now while it runs; the budget used: for a linked
  campaign, the points its versions granted in the month at the programme's point value (₽), else what was entered;
- a mechanic linking a trigger journey instead: the members it reached (entered in the month, not held out), its
  messages sent in the month, the members of those with a counted order from an entry of the month until the
  journey's attribution window after it, and those orders' revenue (each order once);
- activity peaks: the members' counted orders of the month by weekday and hour on the programme's clock (7 × 24);
- best sending time: the mailings' and journeys' messages sent in the month by hour of their send on the programme's
  clock, how many were sent, opened (a click is an open too) and followed by a purchase within their mailing's or
  journey's attribution window.
Times are counted by whole UTC hours in SQL and placed on the programme's clock in Python, so a time zone whose
offset is not a whole number of hours (none in Russia) would shift the hours' edges.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q

from kopilka.campaigns.conditions import parse as parse_condition
from kopilka.campaigns.eligibility import eligible_members
from kopilka.campaigns.models import CampaignVersion
from kopilka.campaigns.results import Period
from kopilka.campaigns.results import results as campaign_results
from kopilka.communications.journeys.models import MESSAGE_KIND as JOURNEY_MESSAGE
from kopilka.communications.journeys.models import SOURCE_PREFIX, Journey, JourneyState
from kopilka.communications.mailings.models import Mailing, MailingRecipient, MessageEvent
from kopilka.communications.models import Message
from kopilka.communications.monthly_plan.models import PlanMechanic
from kopilka.core import clock, programme, sql
from kopilka.orders.models import COUNTED_STATUSES, Order

KOPECK = Decimal("0.01")


@dataclass(frozen=True)
class Fact:
    members: int
    converted: int
    budget_used: Decimal | None
    sent: int | None = None  # a journey's messages sent in the month (None: not a journey's fact)
    revenue: Decimal | None = None  # the converted members' orders in a journey's window, to the kopeck

    @property
    def conversion(self) -> float | None:
        return self.converted / self.members if self.members else None


@dataclass(frozen=True)
class Hour:
    hour: int  # 0 … 23 on the programme's clock
    sent: int = 0
    opened: int = 0
    bought: int = 0


def month_span(month: date) -> tuple[datetime, datetime]:
    """The month's first moment and the next month's (the end not later than now)."""
    start = clock.start_of_day(month)
    following = clock.start_of_day(clock.last_day_of_month(month, 1).replace(day=1))
    return start, min(following, max(clock.now(), start))


def segment_of(mechanic: PlanMechanic) -> dict | None:
    if mechanic.conditions is not None:
        return mechanic.conditions
    if mechanic.campaign_id is not None:
        newest = CampaignVersion.objects.filter(campaign_id=mechanic.campaign_id).order_by("-number").first()
        return newest.rules.get("conditions") if newest else None
    if mechanic.mailing_id is not None:
        return Mailing.objects.filter(pk=mechanic.mailing_id).values_list("conditions", flat=True).first()
    return None


def fact(mechanic: PlanMechanic) -> Fact:
    if mechanic.journey_id is not None:
        return _journey_fact(mechanic)
    since, until = month_span(mechanic.month)
    tree = segment_of(mechanic)
    bought = Order.objects.filter(member_id=OuterRef("pk"), status__in=COUNTED_STATUSES, purchased_at__gte=since,
                                  purchased_at__lt=until)
    counts = (eligible_members(None if tree is None else parse_condition(tree), since)
              .filter(registered_at__lte=since)
              .aggregate(members=Count("pk"), converted=Count("pk", filter=Q(Exists(bought)))))
    return Fact(counts["members"], counts["converted"], _budget_used(mechanic))


def _journey_fact(mechanic: PlanMechanic) -> Fact:
    since, until = month_span(mechanic.month)
    counted = ", ".join(f"'{s}'" for s in COUNTED_STATUSES)
    states, journeys = JourneyState._meta.db_table, Journey._meta.db_table
    members, sent, converted, kopecks = sql.rows(f"""
        WITH reached AS (
            SELECT s.member_id, s.entered_at, j.attribution_days
            FROM {states} s JOIN {journeys} j ON j.id = s.journey_id
            WHERE s.journey_id = %s AND s.status <> '{JourneyState.Status.HELD_OUT.value}'
              AND s.entered_at >= %s AND s.entered_at < %s
        ), bought AS (
            SELECT o.member_id, o.total FROM {Order._meta.db_table} o
            WHERE o.status IN ({counted})
              AND EXISTS (SELECT 1 FROM reached r WHERE r.member_id = o.member_id AND o.purchased_at >= r.entered_at
                            AND o.purchased_at < {sql.plus_days("r.entered_at", "r.attribution_days")})
        )
        SELECT (SELECT COUNT(DISTINCT member_id) FROM reached),
               (SELECT COUNT(*) FROM {Message._meta.db_table} x JOIN {states} s ON s.id = {_visit_of("x")}
                WHERE x.kind = %s AND s.journey_id = %s AND x.sent_at >= %s AND x.sent_at < %s),
               (SELECT COUNT(DISTINCT member_id) FROM bought),
               (SELECT {sql.exact_sum("total", sql.KOPECKS)} FROM bought)""",
        [mechanic.journey_id, sql.at(since), sql.at(until), JOURNEY_MESSAGE, mechanic.journey_id, sql.at(since),
         sql.at(until)])[0]
    return Fact(int(members), int(converted), _budget_used(mechanic), sent=int(sent),
                revenue=(Decimal(int(kopecks)) / 100).quantize(KOPECK))


def _budget_used(mechanic: PlanMechanic) -> Decimal | None:
    if mechanic.campaign is not None:
        last = clock.last_day_of_month(mechanic.month)
        granted = campaign_results(mechanic.campaign, Period(mechanic.month, last)).total.granted
        return (granted * Decimal(programme.value("POINT_VALUE"))).quantize(Decimal("0.01"))
    return mechanic.budget_used_entered


def _utc_hour(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"date_trunc('hour', {column} AT TIME ZONE 'UTC')"
    return f"strftime('%%Y-%%m-%%d %%H:00:00', {column})"


def _visit_of(message: str) -> str:
    """SQL for the id of the journey visit whose send step wrote the message `message` (an alias of the outbox's
    table); NULL for a message of another kind."""
    start = len(SOURCE_PREFIX) + 1
    if connection.vendor == "postgresql":
        visit = f"CAST(split_part({message}.source, ':', 2) AS BIGINT)"
    else:
        rest = f"substr({message}.source, {start})"
        visit = f"CAST(substr({rest}, 1, instr({rest}, ':') - 1) AS INTEGER)"
    return f"(CASE WHEN {message}.kind = '{JOURNEY_MESSAGE}' THEN {visit} END)"


def _local(bucket) -> datetime:
    moment = bucket if isinstance(bucket, datetime) else datetime.fromisoformat(bucket)
    return moment.replace(tzinfo=UTC).astimezone(clock.programme_tz())


def activity(month: date) -> list[list[int]]:
    """Members' counted orders of the month: [weekday (Monday first)][hour] on the programme's clock."""
    since, until = month_span(month)
    counted = ", ".join(f"'{s}'" for s in COUNTED_STATUSES)
    rows = sql.rows(f"""
        SELECT {_utc_hour("o.purchased_at")} AS bucket, COUNT(*) FROM {Order._meta.db_table} o
        WHERE o.member_id IS NOT NULL AND o.status IN ({counted}) AND o.purchased_at >= %s AND o.purchased_at < %s
        GROUP BY bucket""", [sql.at(since), sql.at(until)])
    grid = [[0] * 24 for _ in range(7)]
    for bucket, n in rows:
        local = _local(bucket)
        grid[local.weekday()][local.hour] += int(n)
    return grid


def sending_hours(month: date) -> list[Hour]:
    """Per hour of the programme's clock, the month's mailing and journey messages sent then, opened, and followed
    by a purchase within their mailing's or journey's attribution window."""
    since, until = month_span(month)
    counted = ", ".join(f"'{s}'" for s in COUNTED_STATUSES)
    message = Message._meta.db_table
    rows = sql.rows(f"""
        SELECT {_utc_hour("x.sent_at")} AS bucket, COUNT(*),
               SUM(CASE WHEN EXISTS (SELECT 1 FROM {MessageEvent._meta.db_table} e WHERE e.message_id = x.id)
                        THEN 1 ELSE 0 END),
               SUM(CASE WHEN EXISTS (SELECT 1 FROM {Order._meta.db_table} o
                                     WHERE o.member_id = x.member_id AND o.status IN ({counted})
                                       AND o.purchased_at >= x.sent_at
                                       AND o.purchased_at < {sql.plus_days("x.sent_at", "x.days")})
                        THEN 1 ELSE 0 END)
        FROM (SELECT m.id, m.member_id, m.sent_at, ml.attribution_days AS days
              FROM {message} m JOIN {MailingRecipient._meta.db_table} r ON r.message_id = m.id
              JOIN {Mailing._meta.db_table} ml ON ml.id = r.mailing_id
              WHERE m.sent_at >= %s AND m.sent_at < %s
              UNION ALL
              SELECT m.id, m.member_id, m.sent_at, j.attribution_days AS days
              FROM {message} m JOIN {JourneyState._meta.db_table} s ON s.id = {_visit_of("m")}
              JOIN {Journey._meta.db_table} j ON j.id = s.journey_id
              WHERE m.kind = %s AND m.sent_at >= %s AND m.sent_at < %s) x
        GROUP BY bucket""", [sql.at(since), sql.at(until), JOURNEY_MESSAGE, sql.at(since), sql.at(until)])
    sent, opened, bought = Counter(), Counter(), Counter()
    for bucket, n, o, b in rows:
        hour = _local(bucket).hour
        sent[hour] += int(n)
        opened[hour] += int(o or 0)
        bought[hour] += int(b or 0)
    return [Hour(h, sent[h], opened[h], bought[h]) for h in range(24)]


def best_hours(hours: list[Hour], top: int = 3) -> list[int]:
    """The hours whose sends led to the most opens and purchases per message sent (purchases first), best first."""
    scored = [(h.bought / h.sent, h.opened / h.sent, -h.hour) for h in hours if h.sent]
    return [-hour for *_rates, hour in sorted(scored, reverse=True)[:top]]
