"""A condition tree as one SQL query: "who is eligible now", for counts, previews and mailings.

`member_filter(condition, now)` is a Q over members that holds exactly for the members whose facts make
`conditions.evaluate` pass at `now` (the tests hold the two against each other on random trees and members).
"""

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import reduce
from operator import and_, or_
from typing import Any

from django.db.models import (
    BigIntegerField,
    Count,
    Exists,
    F,
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
from kopilka.campaigns.facts import lifecycle_thresholds
from kopilka.catalog.models import Product, ProductGroup
from kopilka.core import clock
from kopilka.customers.models import Member
from kopilka.orders.selectors import counted_lines, counted_orders
from kopilka.tiers.models import MemberTier

_LOOKUPS = {"lt": LessThan, "le": LessThanOrEqual, "gt": GreaterThan, "ge": GreaterThanOrEqual, "eq": Exact}
_NOBODY = Q(pk__in=[])


def eligible_members(condition: c.Condition | None, now: datetime | None = None) -> QuerySet[Member]:
    """Active members (blocked ones neither earn nor spend) for whom the condition holds now; no condition
    selects them all."""
    active = Member.objects.filter(status=Member.Status.ACTIVE)
    return active if condition is None else active.filter(member_filter(condition, now or clock.now()))


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
    if not node.regions and not node.federal_districts:
        return _NOBODY
    return Q(region__code__in=node.regions) | Q(region__federal_district__in=node.federal_districts)


def _city(node: c.InCity, now: datetime) -> Q:
    named = (tuple(key.split(":", 1)) for key in node.cities)
    return reduce(or_, (Q(city__region__code=region, city__name=name) for region, name in named))


def _million_plus(node: c.MillionPlusCity, now: datetime) -> Q:
    return Q(city__population__gte=c.MILLION)


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
