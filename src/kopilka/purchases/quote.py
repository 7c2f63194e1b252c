"""Evaluating a cart (SPEC §4.3): what it can take in points, from which lots on which lines, and what it earns.

Reads only: nothing is written, so a till may ask as often as it likes. The spend side groups the member's
spendable lots into pools by the campaign version that accrued them (its redemption rule; lots from elsewhere
follow the programme's rule) and asks `campaigns.redemption` for the optimum; the pools' points then come out of
their lots in the programme's redemption order. The earn side asks `campaigns.engine` what the purchase earns
on payment and on shipment, on what the member pays after the points discount.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from kopilka.campaigns.engine import Decision, LiveCampaign, PurchaseLine, decide
from kopilka.campaigns.facts import load_member, member_facts
from kopilka.campaigns.redemption import CartLine, Pool, RedemptionPlan, Shop, plan_redemption
from kopilka.campaigns.rules import RedemptionRule
from kopilka.campaigns.selectors import live_campaigns, redemption_rules
from kopilka.catalog.selectors import ProductTerms, product_terms
from kopilka.core import clock, programme
from kopilka.ledger.selectors import SpendableLot, spendable_lots

KOPECK = Decimal("0.01")
PROGRAMME_POOL = ""  # lots no campaign rule speaks for: any product, 1 point = 1 rouble
SCENARIOS = ("payment", "shipment")


@dataclass(frozen=True)
class CartItem:
    sku: str
    quantity: Decimal
    price: Decimal
    amount: Decimal  # the line's total before points


@dataclass
class QuotedLine:
    number: int
    item: CartItem
    groups: frozenset[str]
    partner: bool = False  # a partner product of the redemption shop
    points: int = 0  # spent on this line
    discount: Decimal = Decimal("0.00")
    earned: dict[str, int] = field(default_factory=dict)  # scenario → points

    @property
    def to_pay(self) -> Decimal:
        return self.item.amount - self.discount


@dataclass(frozen=True)
class LotDraw:
    lot_id: int
    pool: str
    line: int
    points: int


@dataclass
class Quote:
    member_id: int | None
    at: datetime
    lines: list[QuotedLine]
    maximum: int = 0
    points: int = 0
    draws: list[LotDraw] = field(default_factory=list)
    decisions: dict[str, list[Decision]] = field(default_factory=dict)  # scenario → decisions

    @property
    def discount(self) -> Decimal:
        return sum((line.discount for line in self.lines), Decimal("0.00"))

    @property
    def total(self) -> Decimal:
        return sum((line.item.amount for line in self.lines), Decimal(0))

    def earned(self, scenario: str) -> int:
        return sum(d.granted for d in self.decisions.get(scenario, []) if d.applied)


def quote(
    member_id: int | None,
    items: list[CartItem],
    *,
    requested: int | None = 0,
    can_spend: bool = True,
    at: datetime | None = None,
) -> Quote:
    """`requested` points to spend (None: as many as possible); `can_spend` False for receipts a till buffered
    offline, which earn but never spend. A purchase without a member, or of a blocked one, neither earns nor
    spends."""
    at = at or clock.now()
    result = Quote(member_id=member_id, at=at, lines=_priced(items))
    if member_id is None:
        return result
    member = load_member(member_id, labels=True)
    if not member.can_earn_or_spend:
        return result  # blocked members neither earn nor spend
    campaigns = live_campaigns(at, member_id)
    if can_spend:
        _plan_spend(result, requested, live=campaigns)
    facts = member_facts(member_id, at, member=member, campaigns=campaigns)
    lines = result.lines
    purchase = [PurchaseLine(line.number, line.item.sku, line.to_pay, line.groups) for line in lines]
    for scenario in SCENARIOS:
        result.decisions[scenario] = decide(campaigns, facts, scenario=scenario, lines=purchase)
        for decision in result.decisions[scenario]:
            for number, points in decision.by_line.items():
                earned = lines[number - 1].earned
                earned[scenario] = earned.get(scenario, 0) + points
    return result


def spending_plan(member_id: int | None, items: list[CartItem], *, requested: int | None, at: datetime) -> Quote:
    """What placing an order books: the lines and the points they take, without the earning forecast (paying
    decides what the order earns) and without the maximum once the request is met (`maximum` is then the points
    planned). The caller has checked that the member may spend."""
    result = Quote(member_id=member_id, at=at, lines=_priced(items))
    if requested != 0:
        _plan_spend(result, requested, solve_maximum=False)
    return result


def _priced(items: list[CartItem]) -> list[QuotedLine]:
    """The cart's lines, numbered from 1, with their products' groups and whether each is a partner's."""
    terms = product_terms({item.sku for item in items})
    ordinary = ProductTerms(frozenset(), False)
    return [QuotedLine(n, item, terms.get(item.sku, ordinary).groups, terms.get(item.sku, ordinary).partner)
            for n, item in enumerate(items, start=1)]


def _plan_spend(result: Quote, requested: int | None, solve_maximum: bool = True,
                live: Sequence[LiveCampaign] = ()) -> None:
    """`live`: campaigns read already, whose versions' rules need no read when the lots came from them."""
    assert result.member_id is not None  # a spend is planned only for a member
    lots = spendable_lots(result.member_id, result.at, programme.value("REDEMPTION_ORDER"))
    if not lots:
        return
    references = {lot.source_ref for lot in lots if lot.source_kind == "campaign"}
    rules = {campaign.reference: campaign.rules.redemption for campaign in live if campaign.reference in references}
    if len(rules) < len(references):
        rules.update(redemption_rules(references - rules.keys()))
    by_pool: dict[str, list[SpendableLot]] = defaultdict(list)
    for lot in lots:  # in redemption order
        key = lot.source_ref if lot.source_kind == "campaign" and lot.source_ref in rules else PROGRAMME_POOL
        by_pool[key].append(lot)
    # A pool goes as early in the redemption order as its first lot: pools come in the order they were met.
    ranked = list(by_pool)
    pools = [_pool(key, rank, by_pool[key], rules.get(key)) for rank, key in enumerate(ranked)]
    cart = [CartLine(line.number, line.item.amount, line.groups, line.partner) for line in result.lines]
    shop = Shop(programme.value("PARTNER_POINT_VALUE"), programme.value("PARTNER_CAP_PERCENT"))
    plan = plan_redemption(
        cart, pools, receipt_cap_percent=programme.value("RECEIPT_CAP_PERCENT"),
        line_cap_percent=programme.value("LINE_CAP_PERCENT"), requested=requested, shop=shop,
        solve_maximum=solve_maximum,
    )
    result.maximum, result.points = plan.maximum, plan.points
    _apply(result, plan, pools, by_pool, shop)


def _pool(key: str, rank: int, lots: list[SpendableLot], rule: RedemptionRule | None) -> Pool:
    rule = rule or RedemptionRule(coefficient=programme.value("POINT_VALUE"))
    return Pool(
        key=key, points=sum(lot.free for lot in lots), rank=rank, groups=frozenset(rule.groups),
        coefficient=rule.coefficient, line_cap_percent=rule.line_cap_percent,
        receipt_cap_percent=rule.receipt_cap_percent,
    )


def _apply(result: Quote, plan: RedemptionPlan, pools: list[Pool], by_pool: dict[str, list[SpendableLot]],
           shop: Shop) -> None:
    """Per line, the discount and points (a partner line's at the shop's rate); per lot, what it gives (a pool's lots
    in redemption order)."""
    worth = {pool.key: pool.coefficient for pool in pools}
    free = {lot.id: lot.free for lots in by_pool.values() for lot in lots}
    for (key, number), points in sorted(plan.allocation.items(), key=lambda item: item[0][1]):
        line = result.lines[number - 1]
        line.points += points
        rate = shop.coefficient if line.partner else worth[key]
        line.discount = (line.discount + rate * points).quantize(KOPECK)
        for lot in by_pool[key]:
            take = min(free[lot.id], points)
            if take:
                result.draws.append(LotDraw(lot.id, key, number, take))
                free[lot.id] -= take
                points -= take
            if not points:
                break
