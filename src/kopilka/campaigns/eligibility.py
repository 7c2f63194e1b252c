"""A condition tree as one SQL query: "who is eligible now", for counts, previews and mailings.

`member_filter(condition, now)` is a Q over members that holds exactly for the members whose facts make
`conditions.evaluate` pass at `now` (the tests hold the two against each other on random trees and members).
`offered_members` leaves out those a promo campaign holds out, as the engine does (`campaigns.holdout`), and
`eligible_split` counts how many of the eligible members are held out, by the programme and by the campaign.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import reduce
from operator import and_, or_
from typing import Any

from django.db.models import (
    BigIntegerField,
    BooleanField,
    Count,
    Exists,
    F,
    Func,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce, Round
from django.db.models.lookups import Exact, GreaterThan, GreaterThanOrEqual, LessThan, LessThanOrEqual

from kopilka.campaigns import conditions as c
from kopilka.campaigns import holdout
from kopilka.campaigns.facts import lifecycle_thresholds
from kopilka.catalog.models import Product, ProductGroup
from kopilka.core import clock
from kopilka.core import holdout as control_group
from kopilka.customers.models import City, Member, Region
from kopilka.orders.selectors import counted_lines, counted_orders
from kopilka.tiers.models import MemberTier

_LOOKUPS = {"lt": LessThan, "le": LessThanOrEqual, "gt": GreaterThan, "ge": GreaterThanOrEqual, "eq": Exact}
_NOBODY = Q(pk__in=[])


def eligible_members(condition: c.Condition | None, now: datetime | None = None) -> QuerySet[Member]:
    """Active members (blocked ones neither earn nor spend) for whom the condition holds now; no condition
    selects them all."""
    active = Member.objects.filter(status=Member.Status.ACTIVE)
    return active if condition is None else active.filter(member_filter(condition, now or clock.now()))


@dataclass(frozen=True)
class HoldoutOf:
    """What decides whom a campaign holds out: its code (the salt), its type's lot category and its share."""

    code: str
    lot_category: str
    share: Decimal = Decimal(0)


def offered_members(condition: c.Condition | None, campaign: HoldoutOf, now: datetime | None = None
                    ) -> QuerySet[Member]:
    """The eligible members the campaign does not hold out at `now`: those the engine lets earn from it."""
    now = now or clock.now()
    offered = _MemberSql(lambda column: holdout.offered_sql(column, code=campaign.code,
                                                             lot_category=campaign.lot_category,
                                                             share=campaign.share, at=now))
    return eligible_members(condition, now).filter(offered)


@dataclass(frozen=True)
class Split:
    """The eligible members, and how many of them the programme's control group and the campaign's own share hold
    out (a member in both counts in the programme's); the rest are offered the campaign."""

    members: int
    control_group: int
    held_out: int

    @property
    def offered(self) -> int:
        return self.members - self.control_group - self.held_out


def eligible_split(condition: c.Condition | None, campaign: HoldoutOf, now: datetime | None = None) -> Split:
    """One read: the eligible members at `now` and who of them the campaign holds out."""
    now = now or clock.now()
    if not holdout.is_promo(campaign.lot_category):
        return Split(eligible_members(condition, now).count(), 0, 0)
    in_group = _MemberSql(lambda column: control_group.global_control_group_sql(column, now))
    own = _MemberSql(lambda column: holdout.held_out_sql(column, campaign.code, campaign.share))
    counts = eligible_members(condition, now).aggregate(
        members=Count("pk"), control_group=Count("pk", filter=Q(in_group)),
        held_out=Count("pk", filter=~Q(in_group) & Q(own)))
    return Split(counts["members"], counts["control_group"], counts["held_out"])


class _MemberSql(Func):
    """A condition on the member's id, as SQL written by `build(column)` (`core.holdout`'s builders)."""

    output_field = BooleanField()

    def __init__(self, build: Callable[[str], str]):
        super().__init__(F("pk"))
        self.build = build

    def as_sql(self, compiler, connection, function=None, template=None, arg_joiner=None, **extra):
        column, params = compiler.compile(self.source_expressions[0])
        return f"({self.build(column)})", tuple(params)


def member_filter(condition: c.Condition, now: datetime) -> Q:
    return _COMPILERS[condition.type](condition, now)


def _all(node: c.AllOf, now: datetime) -> Q:
    return reduce(and_, (member_filter(child, now) for child in node.of))


def _any(node: c.AnyOf, now: datetime) -> Q:
    return reduce(or_, (member_filter(child, now) for child in node.of))


def _not(node: c.Not, now: datetime) -> Q:
    return ~member_filter(node.of, now)


def _kind(node: c.MemberKind, now: datetime) -> Q:
    return Q(kind=node.kind)


def _related_codes(through, column: str, codes: list[str], match: str) -> Q:
    def having(wanted: list[str]) -> Q:
        return Q(Exists(through.objects.filter(member_id=OuterRef("pk"), **{f"{column}__code__in": wanted})))

    if match == "all":
        return reduce(and_, (having([code]) for code in set(codes)))
    return having(codes)


def _tags(node: c.HasTags, now: datetime) -> Q:
    return _related_codes(Member.tags.through, "tag", node.tags, node.match)


def _flags(node: c.HasFlags, now: datetime) -> Q:
    return _related_codes(Member.eligibility_flags.through, "eligibilityflag", node.flags, node.match)


def _region(node: c.InRegion, now: datetime) -> Q:
    """An EXISTS, never NULL, as `_city`: a member without a region is in none, and NOT of it holds for them."""
    if not node.regions and not node.federal_districts:
        return _NOBODY
    found = Q(code__in=node.regions) | Q(federal_district__in=node.federal_districts)
    return Q(Exists(Region.objects.filter(found, pk=OuterRef("region_id"))))


def _city(node: c.InCity, now: datetime) -> Q:
    """An EXISTS, never NULL: a member without a city is not in it, and NOT of it holds for them (a join's NULL
    would drop them from both)."""
    named = (tuple(key.split(":", 1)) for key in node.cities)
    found = reduce(or_, (Q(region__code=region, name=name) for region, name in named))
    return Q(Exists(City.objects.filter(found, pk=OuterRef("city_id"))))


def _million_plus(node: c.MillionPlusCity, now: datetime) -> Q:
    return Q(Exists(City.objects.filter(pk=OuterRef("city_id"), population__gte=c.MILLION)))


def _orders(node: c.OrderCount, now: datetime) -> Q:
    count = Subquery(counted_orders(now, node.within_days).annotate(n=Count("pk")).values("n"))
    return Q(_LOOKUPS[node.op](Coalesce(count, 0, output_field=IntegerField()), node.value))


def _spent(node: c.TotalSpent, now: datetime) -> Q:
    """Summed in whole kopecks, exact on both databases (SQLite keeps money as binary floats, whose sum can miss
    a threshold by a hair)."""
    kopecks = Cast(Round(F("total") * 100), BigIntegerField())
    total = Subquery(counted_orders(now, node.within_days).annotate(s=Sum(kopecks)).values("s"))
    threshold = Value(int(node.value * 100), BigIntegerField())  # the value has at most 2 decimal places
    return Q(_LOOKUPS[node.op](Coalesce(total, 0, output_field=BigIntegerField()), threshold))


def _lifecycle(node: c.LifecycleStage, now: datetime) -> Q:
    t = lifecycle_thresholds()
    first = Coalesce(Subquery(counted_orders(now).annotate(m=Min("purchased_at")).values("m")), F("registered_at"))
    last = Coalesce(Subquery(counted_orders(now).annotate(m=Max("purchased_at")).values("m")), F("registered_at"))
    new = Q(GreaterThan(first, now - timedelta(days=t.new)))
    active = ~new & Q(GreaterThan(last, now - timedelta(days=t.active)))
    lapsing = ~new & ~Q(GreaterThan(last, now - timedelta(days=t.active))) & Q(
        GreaterThan(last, now - timedelta(days=t.lapsed))
    )
    lapsed = ~new & Q(LessThanOrEqual(last, now - timedelta(days=t.lapsed)))
    stages = {"new": new, "active": active, "lapsing": lapsing, "lapsed": lapsed}
    return reduce(or_, (stages[stage] for stage in node.stages))


def _purchased(node: c.Purchased, now: datetime) -> Q:
    paths = list(ProductGroup.objects.filter(code__in=node.groups).values_list("path", flat=True))
    in_groups = reduce(or_, (Q(group__path__startswith=path) for path in paths), _NOBODY)
    skus = Q(sku__in=node.skus) | Q(sku__in=Product.objects.filter(in_groups).values("sku"))
    return Q(Exists(counted_lines(now, node.within_days).filter(skus)))


def _tier(node: c.InTier, now: datetime) -> Q:
    return Q(Exists(MemberTier.objects.filter(member_id=OuterRef("pk"), tier__code__in=node.tiers)))


def _birthday(node: c.Birthday, now: datetime) -> Q:
    near = c.birthdays_near(clock.local_date(now), node.days)
    return reduce(or_, (Q(birthday__month=month, birthday__day=day) for month, day in sorted(near)))


_COMPILERS: dict[str, Callable[[Any, datetime], Q]] = {
    "all": _all, "any": _any, "not": _not, "member_kind": _kind, "tags": _tags, "eligibility": _flags,
    "region": _region, "city": _city, "million_plus": _million_plus, "orders": _orders, "spent": _spent,
    "lifecycle": _lifecycle, "purchased": _purchased, "tier": _tier, "birthday": _birthday,
}
