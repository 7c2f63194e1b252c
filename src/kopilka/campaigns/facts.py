"""What the conditions read of one member, loaded in a fixed number of queries."""

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from django.conf import settings

from kopilka.campaigns.conditions import LifecycleThresholds, MemberFacts, PurchaseFact
from kopilka.catalog.selectors import ancestor_codes_by_sku
from kopilka.core import clock
from kopilka.customers.errors import member_not_found
from kopilka.customers.models import Member
from kopilka.orders.models import COUNTED_STATUSES, Order, OrderLine
from kopilka.tiers.models import MemberTier


def lifecycle_thresholds() -> LifecycleThresholds:
    return LifecycleThresholds(**settings.KOPILKA["LIFECYCLE_DAYS"])


def member_facts(
    member_id: int, now: datetime | None = None, exclude_order: int | None = None, member: Member | None = None
) -> MemberFacts:
    """What is known of the member at `now`; `exclude_order` leaves out the purchase being decided on, so that
    "fewer than 5 orders" speaks of the orders before it. `member`, loaded with its region, saves a query."""
    now = now or clock.now()
    member = member or Member.objects.select_related("region").filter(pk=member_id).first()
    if member is None:
        raise member_not_found(member_id)
    orders = list(
        Order.objects.filter(member_id=member_id, status__in=COUNTED_STATUSES, purchased_at__lte=now)
        .exclude(pk=exclude_order)
        .values_list("pk", "purchased_at", "total")
    )
    skus_of: dict[int, set[str]] = defaultdict(set)
    for order_id, sku in OrderLine.objects.filter(order__in=[o[0] for o in orders]).exclude(sku="").values_list(
        "order_id", "sku"
    ):
        skus_of[order_id].add(sku)
    groups_of = ancestor_codes_by_sku({sku for skus in skus_of.values() for sku in skus})
    purchases = tuple(
        PurchaseFact(
            at=at,
            total=Decimal(total),
            skus=frozenset(skus_of[pk]),
            groups=frozenset(code for sku in skus_of[pk] for code in groups_of.get(sku, ())),
        )
        for pk, at, total in orders
    )
    return MemberFacts(
        kind=member.kind,
        registered_at=member.registered_at,
        now=now,
        today=clock.local_date(now),
        tags=frozenset(member.tags.values_list("code", flat=True)),
        flags=frozenset(member.eligibility_flags.values_list("code", flat=True)),
        region=member.region.code if member.region else None,
        federal_district=member.region.federal_district if member.region else "",
        birthday=member.birthday,
        tier=MemberTier.objects.filter(member_id=member_id).values_list("tier__code", flat=True).first(),
        purchases=purchases,
        thresholds=lifecycle_thresholds(),
    )
