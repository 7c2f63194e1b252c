"""A promo campaign's members exposed vs held out in a period (SPEC §8.4): what the offer changed, measured against
its own control group. The statistics (uplift, intervals, sample sizes) are the analytics' (`incrementality`); this
module gives the groups' counts and sums, in one set-based statement on either database.

Who is compared: the members eligible at the period's start (the campaign's start when the period begins earlier or
is left open) under the rules in force then (the newest version live by then, else the first): active, registered
by then, their conditions holding then — so what happens in the period cannot move a member between groups. The
campaign's own hash (`campaigns.holdout`, the share of those rules) splits them into held out and exposed. Members
in the programme's global control group in any month the period touches are left out of both (counted apart): the
programme kept them away from every offer, not this one.

For each group, over the period (its start as above, its end the period's last day or now):
- members; converted: members with at least one counted order (paid, shipped, completed) bought in the period;
- revenue: the totals of those orders, to the kopeck, and the sum over members of their revenue squared (roubles²,
  for the spread of revenue per member);
- points accrued (accrual entries), spent (spends less spends given back) and burned (expiry), all entries of the
  members' accounts effective in the period, whatever campaign they came from.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection

from kopilka.campaigns import holdout
from kopilka.campaigns.conditions import parse as parse_condition
from kopilka.campaigns.eligibility import eligible_members
from kopilka.campaigns.models import Campaign, CampaignVersion
from kopilka.campaigns.results import KOPECK, Period
from kopilka.campaigns.rules import parse_rules
from kopilka.core import clock, sql
from kopilka.core import holdout as control_group
from kopilka.customers.models import Member
from kopilka.ledger.models import Account, Entry
from kopilka.orders.models import COUNTED_STATUSES, Order

EXPOSED, HELD_OUT, PROGRAMME_GROUP = 0, 1, 2


@dataclass(frozen=True)
class Group:
    members: int = 0
    converted: int = 0
    revenue: Decimal = Decimal("0.00")
    revenue_squares: float = 0.0  # Σ over members of (their revenue in roubles)²
    accrued: int = 0
    spent: int = 0
    burned: int = 0

    def per_member(self, total) -> float | None:
        return float(total) / self.members if self.members else None

    @property
    def conversion(self) -> float | None:
        return self.per_member(self.converted)


@dataclass(frozen=True)
class Comparison:
    since: datetime
    until: datetime
    version: int  # the rules version whose conditions and share chose the members
    share: Decimal  # percent of the eligible members the campaign holds out
    exposed: Group
    held_out: Group
    in_programme_group: int  # eligible members left out: in the programme's control group in the period


def compare(campaign: Campaign, period: Period) -> Comparison | None:
    """The two groups of a promo campaign in `period`; None for a campaign that is not a promo offer (it holds
    nobody out) or a period that ends before the campaign starts."""
    if not holdout.is_promo(campaign.type.lot_category):
        return None
    since = max(clock.start_of_day(period.start), campaign.starts_at) if period.start else campaign.starts_at
    until = clock.end_of_day(period.end) if period.end else clock.now()
    if until <= since:
        return None
    number, rules = _rules_at(campaign, since)
    tree = rules.get("conditions")
    share = parse_rules(rules).holdout_percent
    eligible, eligible_params = (eligible_members(parse_condition(tree) if tree else None, since)
                                 .filter(registered_at__lte=since).values("pk").query.sql_with_params())
    in_programme = " OR ".join(control_group.global_control_group_sql("m.id", month)
                               for month in _months(since, until))
    own = holdout.held_out_sql("m.id", campaign.code, share)
    counted = ", ".join(f"'{status}'" for status in COUNTED_STATUSES)
    floating = "DOUBLE PRECISION" if connection.vendor == "postgresql" else "REAL"
    found = sql.rows(f"""
        WITH cohort AS (
            SELECT m.id, CASE WHEN {in_programme} THEN {PROGRAMME_GROUP} WHEN {own} THEN {HELD_OUT}
                              ELSE {EXPOSED} END AS grp
            FROM {Member._meta.db_table} m WHERE m.id IN ({eligible})
        ), bought AS (
            SELECT o.member_id, {sql.exact_sum("o.total", sql.KOPECKS)} AS kopecks
            FROM {Order._meta.db_table} o JOIN cohort c ON c.id = o.member_id
            WHERE o.status IN ({counted}) AND o.purchased_at >= %s AND o.purchased_at < %s
            GROUP BY o.member_id
        ), moved AS (
            SELECT a.member_id,
                   SUM(CASE WHEN e.kind = 'accrual' THEN e.amount ELSE 0 END) AS accrued,
                   -SUM(CASE WHEN e.kind IN ('spend', 'restore') THEN e.amount ELSE 0 END) AS spent,
                   -SUM(CASE WHEN e.kind = 'expiry' THEN e.amount ELSE 0 END) AS burned
            FROM {Entry._meta.db_table} e JOIN {Account._meta.db_table} a ON a.id = e.account_id
            JOIN cohort c ON c.id = a.member_id
            WHERE e.effective_at >= %s AND e.effective_at < %s
            GROUP BY a.member_id
        )
        SELECT c.grp, COUNT(*), COUNT(b.member_id), COALESCE(SUM(b.kopecks), 0),
               COALESCE(SUM(CAST(b.kopecks AS {floating}) * b.kopecks), 0),
               COALESCE(SUM(p.accrued), 0), COALESCE(SUM(p.spent), 0), COALESCE(SUM(p.burned), 0)
        FROM cohort c LEFT JOIN bought b ON b.member_id = c.id LEFT JOIN moved p ON p.member_id = c.id
        GROUP BY c.grp""", [*eligible_params, *[sql.at(since), sql.at(until)] * 2])
    groups = {
        grp: Group(int(members), int(converted), (Decimal(int(kopecks)) / 100).quantize(KOPECK),
                   float(squares) / 10_000, int(accrued), int(spent), int(burned))
        for grp, members, converted, kopecks, squares, accrued, spent, burned in found
    }
    return Comparison(since, until, number, share, groups.get(EXPOSED, Group()), groups.get(HELD_OUT, Group()),
                      groups.get(PROGRAMME_GROUP, Group()).members)


def _rules_at(campaign: Campaign, at: datetime) -> tuple[int, dict]:
    """The number and rules of the newest version live at `at`, else of the first."""
    versions = CampaignVersion.objects.filter(campaign=campaign)
    chosen = (versions.filter(went_live_at__lte=at).order_by("-number").first()
              or versions.order_by("number").first())
    assert chosen is not None  # a campaign is made with its first version
    return chosen.number, chosen.rules


def _months(since: datetime, until: datetime) -> list[datetime]:
    """A moment in each month (programme time zone) from `since` up to just before `until`."""
    moments, day = [since], clock.local_date(since).replace(day=1)
    while True:
        day = clock.last_day_of_month(day, 1).replace(day=1)  # the first day of the next month
        moment = clock.start_of_day(day)
        if moment >= until:
            return moments
        moments.append(moment)
