"""What the conditions read of one member, loaded in a fixed number of hand-written reads (`core.sql`).

On the purchase path (`campaigns` given) the purchase history is read as one bounded query that answers just what
those campaigns' conditions ask (`orders.selectors.history_answers`); without them, the whole counted history is
loaded (the member card, previews, reports)."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings

from kopilka.campaigns.conditions import (
    HistorySummary,
    LifecycleThresholds,
    MemberFacts,
    PurchaseFact,
    needs_of,
)
from kopilka.campaigns.engine import LiveCampaign
from kopilka.catalog.selectors import ancestor_codes_by_sku
from kopilka.core import clock, holdout, sql
from kopilka.customers.errors import member_not_found
from kopilka.customers.models import City, EligibilityFlag, Member, Region, Tag
from kopilka.orders.selectors import Bought, counted_purchases, history_answers
from kopilka.tiers.models import MemberTier, Tier


def lifecycle_thresholds() -> LifecycleThresholds:
    return LifecycleThresholds(**settings.KOPILKA["LIFECYCLE_DAYS"])


@dataclass(frozen=True)
class Labels:
    """A member's tags, eligibility flags and tier."""

    tags: frozenset[str]
    flags: frozenset[str]
    tier: str | None


@dataclass(frozen=True)
class MemberRow:
    """What the purchase path needs of a member row."""

    id: int
    kind: str
    status: str
    registered_at: datetime
    birthday: date | None
    region: str | None
    federal_district: str
    city: str | None = None  # "<region code>:<name>" (conditions.InCity)
    city_population: int | None = None
    labels: Labels | None = None  # read with the row on request (`load_member(..., labels=True)`)

    @property
    def can_earn_or_spend(self) -> bool:
        return Member.status_earns_and_spends(self.status)


# The member's city as conditions name it ("<region code>:<name>") and its population, as two columns of a read of
# members `m`.
CITY = f"""
(SELECT cr.code || ':' || c.name FROM {City._meta.db_table} c JOIN {Region._meta.db_table} cr ON cr.id = c.region_id
 WHERE c.id = m.city_id),
(SELECT c.population FROM {City._meta.db_table} c WHERE c.id = m.city_id)"""

_MEMBER = f"""
SELECT m.id, m.kind, m.status, m.registered_at, m.birthday, r.code, r.federal_district, {CITY}
FROM {Member._meta.db_table} m LEFT JOIN {Region._meta.db_table} r ON r.id = m.region_id
WHERE m.id = %s
"""

# The member's tags, flags and tier, as (what, code) rows.
_LABELS = f"""
SELECT 'tag', t.code FROM {Member.tags.through._meta.db_table} mt JOIN {Tag._meta.db_table} t ON t.id = mt.tag_id
WHERE mt.member_id = %s
UNION ALL
SELECT 'flag', f.code FROM {Member.eligibility_flags.through._meta.db_table} mf
JOIN {EligibilityFlag._meta.db_table} f ON f.id = mf.eligibilityflag_id WHERE mf.member_id = %s
UNION ALL
SELECT 'tier', t.code FROM {MemberTier._meta.db_table} mt JOIN {Tier._meta.db_table} t ON t.id = mt.tier_id
WHERE mt.member_id = %s
"""

# The member's row and its labels in one read: the row is the one ('member', kind, status, registered_at, birthday,
# region, district, city, population); a label's row is (what, code) with the rest NULL.
_MEMBER_WITH_LABELS = f"""
SELECT 'member', m.kind, m.status, m.registered_at, m.birthday, r.code, r.federal_district, {CITY}
FROM {Member._meta.db_table} m LEFT JOIN {Region._meta.db_table} r ON r.id = m.region_id
WHERE m.id = %s
UNION ALL
SELECT 'tag', t.code, NULL, NULL, NULL, NULL, NULL, NULL, NULL
FROM {Member.tags.through._meta.db_table} mt JOIN {Tag._meta.db_table} t ON t.id = mt.tag_id
WHERE mt.member_id = %s
UNION ALL
SELECT 'flag', f.code, NULL, NULL, NULL, NULL, NULL, NULL, NULL
FROM {Member.eligibility_flags.through._meta.db_table} mf
JOIN {EligibilityFlag._meta.db_table} f ON f.id = mf.eligibilityflag_id WHERE mf.member_id = %s
UNION ALL
SELECT 'tier', t.code, NULL, NULL, NULL, NULL, NULL, NULL, NULL
FROM {MemberTier._meta.db_table} mt JOIN {Tier._meta.db_table} t ON t.id = mt.tier_id
WHERE mt.member_id = %s
"""


def load_member(member_id: int, labels: bool = False) -> MemberRow:
    """The member's row with its region, and with `labels` its labels too, in one read; MemberNotFound when there
    is none."""
    if not labels:
        found = sql.rows(_MEMBER, [member_id])
        if not found:
            raise member_not_found(member_id)
        return member_row(found[0])
    row = None
    codes: dict[str, set[str]] = defaultdict(set)
    for what, *values in sql.rows(_MEMBER_WITH_LABELS, [member_id] * 4):
        if what == "member":
            row = values
        else:
            codes[what].add(values[0])
    if row is None:
        raise member_not_found(member_id)
    return member_row((member_id, *row), _labels(codes))


def member_row(row: tuple | list, labels: Labels | None = None) -> MemberRow:
    """A MemberRow of (id, kind, status, registered at, birthday, region code, federal district, city, city's
    population) as read."""
    pk, kind, status, registered_at, birthday, region, district, city, population = row
    return MemberRow(pk, kind, status, sql.moment(registered_at), sql.day(birthday), region, district or "", city,
                     population, labels)


def _labels(codes: dict[str, set[str]]) -> Labels:
    return Labels(frozenset(codes["tag"]), frozenset(codes["flag"]), next(iter(codes["tier"]), None))


def member_facts(
    member_id: int,
    now: datetime | None = None,
    exclude_order: int | None = None,
    member: MemberRow | None = None,
    campaigns: list[LiveCampaign] | None = None,
) -> MemberFacts:
    """What is known of the member at `now` (whether in the programme's control group too), in three reads;
    `exclude_order` leaves out the purchase being decided on, so that "fewer than 5 orders" speaks of the orders
    before it. `member` (`load_member`) saves a read, and
    one more when loaded with its labels. With `campaigns`, the history is summarised for their conditions alone
    (no read at all when they ask nothing of it)."""
    now = now or clock.now()
    member = member or load_member(member_id)
    labels = member.labels
    if labels is None:
        codes: dict[str, set[str]] = defaultdict(set)
        for what, code in sql.rows(_LABELS, [member_id] * 3):
            codes[what].add(code)
        labels = _labels(codes)
    purchases: tuple[PurchaseFact, ...] = ()
    summary = None
    if campaigns is None:
        purchases = _purchases(member_id, now, exclude_order)
    else:
        summary = _summary(member_id, now, exclude_order, campaigns)
    return MemberFacts(
        kind=member.kind,
        registered_at=member.registered_at,
        now=now,
        today=clock.local_date(now),
        tags=labels.tags,
        flags=labels.flags,
        region=member.region,
        federal_district=member.federal_district,
        city=member.city,
        city_population=member.city_population,
        birthday=member.birthday,
        tier=labels.tier,
        purchases=purchases,
        thresholds=lifecycle_thresholds(),
        summary=summary,
        member_id=member_id,
        in_control_group=holdout.in_global_control_group(member_id, now),
    )


def _summary(member_id: int, now: datetime, exclude_order: int | None,
             campaigns: list[LiveCampaign]) -> HistorySummary:
    needs = needs_of(campaign.rules.conditions for campaign in campaigns)
    if not needs.windows and not needs.lifecycle and not needs.products:
        return HistorySummary({}, {})
    products = sorted(needs.products, key=repr)
    windows = sorted(needs.windows, key=lambda days: -1 if days is None else days)
    answers = history_answers(member_id, now, windows=windows, exclude_order=exclude_order,
                              bought=[Bought(q.skus, q.groups, q.within_days) for q in products])
    return HistorySummary(answers.orders, answers.spent, answers.first_at, answers.last_at,
                          dict(zip(products, answers.last_bought, strict=True)))


def _purchases(member_id: int, now: datetime, exclude_order: int | None) -> tuple[PurchaseFact, ...]:
    """Every counted purchase up to `now` with its products."""
    purchases = counted_purchases(member_id, now, exclude_order)
    groups_of = ancestor_codes_by_sku({sku for *_, skus in purchases for sku in skus})
    return tuple(
        PurchaseFact(at=at, total=total, skus=skus,
                     groups=frozenset(code for sku in skus for code in groups_of.get(sku, ())))
        for _, at, total, skus in purchases
    )
