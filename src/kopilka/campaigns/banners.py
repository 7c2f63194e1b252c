"""Product banners (SPEC §4.2): for a member and a page of products, the terms that apply to each — what buying
it earns under which campaigns, and how much of its price the member's points may pay (for a partner product of
the redemption shop, the shop's cap and the worth of a point there).

The same product may take part in several campaigns and different members see different terms: a campaign is
shown only when its conditions hold for the member and it does not hold the member out (`campaigns.holdout`);
without a member, only campaigns without conditions.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from kopilka.campaigns.conditions import evaluate
from kopilka.campaigns.engine import LiveCampaign, holds_out
from kopilka.campaigns.facts import member_facts
from kopilka.campaigns.rules import RedemptionRule
from kopilka.campaigns.selectors import live_campaigns, redemption_rules
from kopilka.catalog.selectors import ProductTerms, product_terms
from kopilka.core import clock, programme
from kopilka.ledger.selectors import balance

HUNDRED = Decimal(100)


@dataclass(frozen=True)
class EarnTerm:
    campaign: str
    name: str
    scenario: str
    percent: Decimal | None  # points per 100 ₽ of the price, as a percent (percent × multiplier / rate)
    points: int | None  # fixed points per purchase
    min_order: Decimal


@dataclass
class Banner:
    sku: str
    earn: list[EarnTerm] = field(default_factory=list)
    payable_percent: Decimal = Decimal(0)  # the most of the price points may pay (0 without spendable points)
    points_available: int = 0  # the member's points that may pay for it
    partner: bool = False  # a partner product of the redemption shop
    point_value: Decimal | None = None  # roubles a point pays for it, where all points pay alike (partner products)


def _accepts(groups: list[str], product_groups: frozenset[str]) -> bool:
    return not groups or bool(set(groups) & product_groups)


def _earn_term(campaign: LiveCampaign, product_groups: frozenset[str]) -> EarnTerm | None:
    rule = campaign.rules.accrual
    if rule is None or rule.scenario == "event":
        return None
    if rule.include_groups and not set(rule.include_groups) & product_groups:
        return None
    if set(rule.exclude_groups) & product_groups:
        return None
    percent = points = None
    if rule.reward == "percent" and rule.percent is not None:  # AccrualRule: a percent reward has its percent
        percent = (rule.percent * rule.multiplier / rule.roubles_per_point).quantize(Decimal("0.01"))
    if rule.reward == "fixed" and rule.points is not None:  # and a fixed one its points
        points = int(rule.points * rule.multiplier)
    return EarnTerm(campaign.reference, campaign.public_name, rule.scenario, percent, points, rule.min_order)


def banners(member_id: int | None, skus: list[str], at: datetime | None = None) -> list[Banner]:
    at = at or clock.now()
    terms = product_terms(set(skus))
    campaigns = live_campaigns(at, member_id)
    if member_id is None:
        applicable = [c for c in campaigns if c.rules.conditions is None]
    else:
        facts = member_facts(member_id, at, campaigns=campaigns)
        applicable = [c for c in campaigns if (c.rules.conditions is None or evaluate(c.rules.conditions, facts).passed)
                      and holds_out(c, facts) is None]
    pools = _spendable_pools(member_id, at) if member_id is not None else []
    receipt_cap, line_cap = programme.value("RECEIPT_CAP_PERCENT"), programme.value("LINE_CAP_PERCENT")
    shop_cap = programme.value("PARTNER_CAP_PERCENT")
    result = []
    for sku in skus:
        product = terms.get(sku, ProductTerms(frozenset(), False))
        banner = Banner(sku, [t for c in sorted(applicable, key=lambda c: (-c.priority, c.code))
                              if (t := _earn_term(c, product.groups)) is not None], partner=product.partner)
        if product.partner:
            banner.point_value = programme.value("PARTNER_POINT_VALUE")
        for rule, points in pools:
            if points and _accepts(rule.groups, product.groups):
                caps = (shop_cap,) if product.partner else (rule.line_cap_percent, rule.receipt_cap_percent,
                                                            receipt_cap, line_cap)
                cap = min(c for c in (*caps, HUNDRED) if c is not None)
                banner.payable_percent = max(banner.payable_percent, cap)
                banner.points_available += points
        result.append(banner)
    return result


def _spendable_pools(member_id: int, at: datetime) -> list[tuple[RedemptionRule, int]]:
    """The member's spendable points by the redemption rule they follow."""
    lots = [lot for lot in balance(member_id, at=at).lots if lot.state == "active" and lot.free > 0]
    rules = redemption_rules({lot.source_ref for lot in lots if lot.source_kind == "campaign"})
    by_rule: dict[str, int] = {}
    for lot in lots:
        key = lot.source_ref if lot.source_kind == "campaign" and lot.source_ref in rules else ""
        by_rule[key] = by_rule.get(key, 0) + lot.free
    programme_rule = RedemptionRule(coefficient=programme.value("POINT_VALUE"))
    return [(rules.get(key, programme_rule), points) for key, points in by_rule.items()]
