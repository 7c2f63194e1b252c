"""The demo data set: the demo programme (`seed.programme`), members, 18 months of purchases and the points they
earned, spent and burned.

Everything is written through the code a deployment uses, so the demo shows what the platform does and
`kopilka reconcile` holds on it:
- members through the customer services;
- the history (all but the last RECENT_DAYS) through the CSV importer, as a deployment's history would come;
  what it earned is decided by the campaign engine on the member's history up to each purchase and booked in
  the ledger under the campaigns' budgets and limits, each grant recorded as the order's points as the purchase
  flow records it (a campaign's results count the receipts that earned by them); now and then a member spends up
  to 30 % of a receipt;
- the last RECENT_DAYS through the purchase flow a till drives: evaluate, hold, pay, earn — some spending as
  many points as the cart can take;
- reviews and trainings through the events API's service, today's birthdays through the daily run;
- compensations for late deliveries and defects as support grants them, with reason codes;
then expiry as of now burns what is due, members get the tiers they qualify for, and a few are blocked.
The same seed gives the same data set.
"""

import csv
import dataclasses
import random
import tempfile
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import TextIO

from django.db import transaction

from kopilka.campaigns.conditions import MemberFacts, PurchaseFact
from kopilka.campaigns.engine import PurchaseLine, decide
from kopilka.campaigns.events import birthdays, record_event
from kopilka.campaigns.granting import grant
from kopilka.campaigns.locking import LockPlan, lock_points
from kopilka.campaigns.selectors import live_campaigns, period_key
from kopilka.catalog.selectors import ancestor_codes_by_sku
from kopilka.core import clock
from kopilka.core.progress import Progress
from kopilka.customers import services as members
from kopilka.customers.models import City, EligibilityFlag, Region, Tag
from kopilka.ledger import services as ledger
from kopilka.ledger.expiry import expire
from kopilka.ledger.selectors import balance
from kopilka.orders.importing import import_transactions
from kopilka.orders.models import Order, OrderPoints
from kopilka.purchases import flow
from kopilka.purchases.quote import CartItem
from kopilka.seed import programme
from kopilka.seed.profiles import (
    ELIGIBILITY_FLAGS,
    TAGS,
    MemberProfile,
    Purchase,
    member_profiles,
    non_member_purchases,
    purchases_of,
)
from kopilka.tiers import services as tiers

ACTOR = programme.ACTOR
ORDER_SOURCE = "demo"
EARNED_BATCH = 5_000  # the history's order points written at once
RECENT_DAYS = 21


@dataclass(frozen=True)
class DemoSize:
    members: int = 2500
    months: int = 18
    non_member_share: float = 0.2
    seed: int = 1


@dataclass(frozen=True)
class DemoResult:
    members: int
    orders: int
    non_member_orders: int
    ledger_operations: int
    burned_points: int


def load_demo(size: DemoSize, *, stream: TextIO, now: datetime | None = None) -> DemoResult:
    """Fills an empty programme with the demo data set; progress goes to `stream`."""
    now = now or clock.now()
    start = now - timedelta(days=round(size.months * 30.44))
    cutoff = now - timedelta(days=RECENT_DAYS)
    rng = random.Random(size.seed)
    _reference_books()
    programme.install(start)

    profiles = member_profiles(rng, size.members, start, now)
    member_ids = _create_members(rng, profiles, Progress("Members", total=len(profiles), stream=stream))
    order_no = 1
    for profile in profiles:
        profile.purchases = purchases_of(rng, profile, now, order_no)
        order_no += len(profile.purchases)
    member_orders = sum(len(profile.purchases) for profile in profiles)
    strangers = non_member_purchases(
        rng, round(member_orders * size.non_member_share / (1 - size.non_member_share)), start, now, order_no
    )
    history = [p for profile in profiles for p in profile.purchases if p.purchased_at < cutoff]
    imported = _import_purchases(history + [p for p in strangers if p.purchased_at < cutoff], stream)

    operations = _history_points(rng, profiles, member_ids, cutoff, now, stream)
    recent = sorted(
        [(p, member_ids[p.customer_id]) for profile in profiles for p in profile.purchases if p.purchased_at >= cutoff]
        + [(p, None) for p in strangers if p.purchased_at >= cutoff],
        key=lambda pair: pair[0].purchased_at,
    )
    operations += _recent_purchases(rng, recent, Progress("Purchases through the till flow", total=len(recent),
                                                          stream=stream))
    operations += _events(rng, profiles, member_ids, now)
    burned = expire(as_of=now, actor=ACTOR, progress=Progress("Burning expired lots", stream=stream))
    for member_id in member_ids.values():
        tiers.recompute(member_id, actor=ACTOR)
    for profile in rng.sample(profiles, k=max(1, len(profiles) // 100)):
        members.block_member(member_id=member_ids[profile.customer_id], reason="Демо: проверка службы безопасности",
                             actor=ACTOR)
    return DemoResult(
        members=len(member_ids),
        orders=imported.orders_created + len(recent),
        non_member_orders=imported.non_member_orders + sum(1 for _, member_id in recent if member_id is None),
        ledger_operations=operations,
        burned_points=burned.points,
    )


def _reference_books() -> None:
    for code, name in TAGS:
        Tag.objects.get_or_create(code=code, defaults={"name": name})
    for code, name in ELIGIBILITY_FLAGS:
        EligibilityFlag.objects.get_or_create(code=code, defaults={"name": name})


def _create_members(rng: random.Random, profiles: list[MemberProfile], progress: Progress) -> dict[str, int]:
    """Creates the members with their ids in other systems and their consents; returns customer id → member id."""
    cities = dict(City.objects.values_list("region__code", "name"))
    ids = {}
    for profile in profiles:
        fields = dict(profile.fields)
        if fields["region_code"] in cities and rng.random() < 0.85:
            fields["city"] = cities[fields["region_code"]]
        external_ids = [("customer", profile.customer_id)]
        if fields["kind"] == "legal_entity":
            # 1C:Enterprise identifies a counterparty by a GUID (its reference's UUID), as CommerceML's <Ид> shows
            external_ids.append(("onec", str(uuid.UUID(int=random.Random(profile.customer_id).getrandbits(128),
                                                       version=4))))
        else:
            external_ids.append(("card", f"2700{profile.customer_id[1:]:0>9}{rng.randrange(1000):03d}"))
        with transaction.atomic():
            member = members.create_member(**fields, external_ids=external_ids, actor=ACTOR)
            for channel in profile.consents:
                members.set_consent(
                    member_id=member.pk, channel=channel, granted=True, source="registration form",
                    at=fields["registered_at"], actor=ACTOR,
                )
        ids[profile.customer_id] = member.pk
        progress.advance()
    progress.finish()
    return ids


def _import_purchases(purchases: list[Purchase], stream: TextIO):
    """The history goes through the CSV importer, as a deployment's would."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "demo-purchases.csv"
        with path.open("w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file)
            writer.writerow(["order_id", "customer_id", "purchased_at", "sku", "quantity", "price", "amount", "region"])
            for purchase in sorted(purchases, key=lambda p: p.purchased_at):
                moment = purchase.purchased_at.isoformat(timespec="seconds")
                for sku, quantity, price in purchase.lines:
                    writer.writerow(
                        [purchase.order_id, purchase.customer_id, moment, sku, quantity, price, quantity * price,
                         purchase.region]
                    )
        return import_transactions(path, source=ORDER_SOURCE, actor=ACTOR, progress_stream=stream)


def _history_points(
    rng: random.Random, profiles: list[MemberProfile], member_ids: dict[str, int], cutoff: datetime, now: datetime,
    stream: TextIO,
) -> int:
    """The points of the imported history, as the campaigns decide them on each member's history so far."""
    progress = Progress("Points of the purchase history", stream=stream)
    groups = ancestor_codes_by_sku({sku for sku, *_ in programme.PRODUCTS})
    regions = dict(Region.objects.values_list("code", "federal_district"))
    campaigns = live_campaigns(cutoff)
    budgets = {c.code: c.budget_left for c in campaigns}
    limits = {c.code: c.rules.accrual.member_limit for c in campaigns if c.rules.accrual}
    budgeted = {c.campaign_id: True for c in campaigns if c.budget_left is not None}  # every shard: one writer
    orders = dict(Order.objects.filter(source=ORDER_SOURCE).values_list("external_id", "pk"))
    earned: list[OrderPoints] = []
    for profile in profiles:
        used: dict[tuple[str, str], int] = {}
        member_id = member_ids[profile.customer_id]
        fields = profile.fields
        facts = MemberFacts(
            kind=fields["kind"], registered_at=fields["registered_at"], now=fields["registered_at"],
            today=clock.local_date(fields["registered_at"]), tags=frozenset(fields["tags"]),
            flags=frozenset(fields["eligibility_flags"]), region=fields["region_code"],
            federal_district=regions.get(fields["region_code"], ""), birthday=fields.get("birthday"),
        )
        for number, purchase in enumerate(p for p in profile.purchases if p.purchased_at < cutoff):
            at = purchase.purchased_at
            source = ledger.Source("order", purchase.order_id)
            if number and rng.random() < 0.35:
                wanted = min(balance(member_id, at=at).available, int(purchase.total * Decimal("0.3")))
                if wanted >= 100:
                    ledger.spend(member_id=member_id, points=wanted, actor=ACTOR, source=source,
                                 idempotency_key=f"demo:spend:{purchase.order_id}", at=at - timedelta(minutes=2))
                    progress.advance()
            facts = dataclasses.replace(facts, now=at, today=clock.local_date(at))
            lines = [PurchaseLine(n, sku, quantity * price, groups.get(sku, frozenset()))
                     for n, (sku, quantity, price) in enumerate(purchase.lines, start=1)]
            periods = {code: (code, period_key(limit.period, at)) for code, limit in limits.items() if limit}
            live = [
                dataclasses.replace(c, budget_left=budgets[c.code], limit_left=(
                    limits[c.code].points - used.get(periods[c.code], 0) if c.code in periods else None))
                for c in campaigns
            ]
            decisions = decide(live, facts, scenario="payment", lines=lines)
            locks = lock_points(LockPlan(member_id, budgeted))
            for decision, entry in grant(decisions, locks, at, actor=ACTOR, key=f"demo:{purchase.order_id}"):
                earned.append(OrderPoints(
                    order_id=orders[purchase.order_id], entry_id=entry.pk, kind=OrderPoints.Kind.EARN,
                    scenario="payment", campaign=decision.campaign.reference, points=decision.granted,
                    by_line={str(n): p for n, p in decision.by_line.items() if p}, created_at=at))
                code = decision.campaign.code
                if budgets[code] is not None:
                    budgets[code] -= decision.granted
                if code in periods:
                    used[periods[code]] = used.get(periods[code], 0) + decision.granted
                progress.advance()
            facts = dataclasses.replace(facts, purchases=facts.purchases + (
                PurchaseFact(at, purchase.total, frozenset(s for s, _, _ in purchase.lines),
                             frozenset(g for s, _, _ in purchase.lines for g in groups.get(s, ()))),
            ))
            if rng.random() < 0.01 and at + timedelta(days=3) < now:
                ledger.adjust(
                    member_id=member_id, points=rng.choice([300, 500, 1000]), actor=ACTOR, lifetime_days=180,
                    reason_code=rng.choice(["compensation-late-delivery", "compensation-defect"]),
                    comment=f"Жалоба по заказу {purchase.order_id}", at=at + timedelta(days=3),
                    idempotency_key=f"demo:compensation:{purchase.order_id}",
                )
                progress.advance()
        if len(earned) >= EARNED_BATCH:
            OrderPoints.objects.bulk_create(earned)
            earned.clear()
    OrderPoints.objects.bulk_create(earned)
    progress.finish()
    return progress.done


def _recent_purchases(rng: random.Random, recent: list[tuple[Purchase, int | None]], progress: Progress) -> int:
    """The last weeks as a till sends them: placed, paid, often spending points (as many as the cart takes)."""
    for purchase, member_id in recent:
        items = [CartItem(sku, Decimal(quantity), price, (quantity * price).quantize(Decimal("0.01"), ROUND_DOWN))
                 for sku, quantity, price in purchase.lines]
        points = rng.choice([0, 0, None]) if member_id is not None else 0
        flow.place_order(
            flow.NewOrder(source=ORDER_SOURCE, external_id=purchase.order_id, items=items, member_id=member_id,
                          points=points, purchased_at=purchase.purchased_at, paid=True, region=purchase.region),
            actor="pos:demo",
        )
        progress.advance()
    progress.finish()
    return progress.done


def _events(rng: random.Random, profiles: list[MemberProfile], member_ids: dict[str, int], now: datetime) -> int:
    """Reviews and trainings of some members over the last three months, and today's birthdays."""
    recorded = 0
    for profile in profiles:
        registered_at = profile.fields["registered_at"]
        for kind, share in (("review", 0.15), ("training_completed", 0.05)):
            if rng.random() < share:
                at = max(now - timedelta(days=rng.uniform(0, 90)), registered_at + timedelta(hours=1))
                record_event(member_id=member_ids[profile.customer_id], type=kind, actor="site:demo", occurred_at=at,
                             key=f"demo:{kind}:{profile.customer_id}")
                recorded += 1
    return recorded + birthdays(now=now)
