"""What a purchase or an event earns under the live campaigns (SPEC §3) — decisions that explain themselves.

Pure: the live campaigns, the member's facts and the purchase come in; a decision per campaign comes out, with
the points it wants, the points it may grant (budget and per-member limit), how they split over the lines, and
its reasons in the reader's language.

How campaigns combine: they are taken by priority (higher first, then by code). A stacking campaign adds to
what came before it. An exclusive campaign applies only if nothing applied before it, and when it applies
nothing after it does.

A promo campaign gives nothing to a member it holds out (the programme's control group this month, or its own
share: `campaigns.holdout`), even one its conditions select; a held-out member's decision says so.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from kopilka.campaigns import holdout
from kopilka.campaigns.conditions import MemberFacts, Verdict, evaluate
from kopilka.campaigns.rules import AccrualRule, CampaignRules
from kopilka.campaigns.wording import Wording, wording


@dataclass(frozen=True)
class LiveCampaign:
    code: str
    reference: str  # the version, as ledger entries name it: "<code>:v<number>"
    public_name: str
    lot_category: str
    priority: int
    combination: str  # "stack" | "exclusive"
    rules: CampaignRules
    budget_left: int | None = None  # points; None: no budget
    limit_left: int | None = None  # points this member may still earn this period; None: no limit
    campaign_id: int | None = None  # the campaign's row, whose budget shards a grant locks

    @property
    def is_promo(self) -> bool:
        return holdout.is_promo(self.lot_category)


@dataclass(frozen=True)
class PurchaseLine:
    number: int
    sku: str
    amount: Decimal  # what the member pays for the line (after any points discount)
    groups: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Decision:
    campaign: LiveCampaign
    applied: bool
    reasons: list[str]
    conditions: Verdict | None = None
    desired: int = 0
    granted: int = 0
    by_line: dict[int, int] = field(default_factory=dict)

    def explain(self) -> str:
        parts = [f"{self.campaign.public_name} ({self.campaign.reference}): " + "; ".join(self.reasons)]
        if self.conditions is not None:
            parts.append(self.conditions.explain(indent=1))
        return "\n".join(parts)


def _floor(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_DOWN))


def split_by_weight(total: int, weights: dict[int, Decimal]) -> dict[int, int]:
    """`total` points over the keys in proportion to the weights, whole points summing to `total` exactly
    (largest remainder; ties to the smaller key). Worked in integers: the weights are scaled to whole numbers
    exactly, so no share is rounded on the way."""
    ratios = {key: weight.as_integer_ratio() for key, weight in weights.items()}
    common = math.lcm(*(denominator for _, denominator in ratios.values()))  # 1 without weights
    units = {key: numerator * (common // denominator) for key, (numerator, denominator) in ratios.items()}
    whole = sum(units.values())
    if total == 0 or whole == 0:
        return {key: 0 for key in weights}
    shares: dict[int, int] = {}
    remainders: dict[int, int] = {}
    for key, unit in units.items():
        shares[key], remainders[key] = divmod(total * unit, whole)
    left = total - sum(shares.values())
    for key in sorted(remainders, key=lambda k: (-remainders[k], k))[:left]:
        shares[key] += 1
    return shares


def _eligible_lines(rule: AccrualRule, lines: Sequence[PurchaseLine]) -> list[PurchaseLine]:
    include, exclude = set(rule.include_groups), set(rule.exclude_groups)
    return [
        line for line in lines
        if (not include or line.groups & include) and not (line.groups & exclude)
    ]


def _purchase_points(
    rule: AccrualRule, lines: Sequence[PurchaseLine], tier: str | None, words: Wording
) -> tuple[int, dict[int, int], list[str]] | str:
    """(points, by line, how) — or why the purchase earns nothing under this rule."""
    eligible = _eligible_lines(rule, lines)
    amount = sum((line.amount for line in eligible), Decimal(0))
    if not eligible or amount == 0:
        return words.no_line
    if amount < rule.min_order:
        return words.min_order % {"min": words.money(rule.min_order), "amount": words.money(amount)}
    if rule.reward == "percent":
        percent = rule.tier_percents.get(tier, rule.percent) if tier else rule.percent
        assert percent is not None  # AccrualRule refuses a percent reward without a percent
        reward = amount * percent / 100
        points = _floor(reward / rule.roubles_per_point * rule.multiplier)
        how = words.percent_of % {
            "percent": words.number(percent), "amount": words.money(amount),
            "reward": words.money(reward), "rate": words.money(rule.roubles_per_point),
        }
    else:
        assert rule.points is not None  # AccrualRule refuses a fixed reward without points
        points = _floor(rule.points * rule.multiplier)
        how = words.points_for_purchase % {"points": rule.points}
    reasons = [how]
    if rule.reward == "percent" and tier in rule.tier_percents:
        reasons.insert(0, words.tier_percent % {"tier": tier})
    if rule.multiplier != 1:
        reasons.append(words.multiplied % {"m": words.number(rule.multiplier)})
    by_line = split_by_weight(points, {line.number: line.amount for line in eligible})
    return points, by_line, reasons


def _event_points(rule: AccrualRule, words: Wording) -> tuple[int, dict[int, int], list[str]]:
    assert rule.points is not None  # AccrualRule: an event earns fixed points
    points = _floor(rule.points * rule.multiplier)
    return points, {}, [words.points_for_event % {"points": points}]


def holds_out(campaign: LiveCampaign, facts: MemberFacts) -> str | None:
    """Whether the campaign holds the member out: "control_group" (the programme's, this month), "held_out" (the
    campaign's own share) or None."""
    if not campaign.is_promo or facts.member_id is None:
        return None
    if facts.in_control_group:
        return "control_group"
    share = campaign.rules.holdout_percent
    if share and holdout.held_out(facts.member_id, campaign.code, share):
        return "held_out"
    return None


def may_apply(
    campaign: LiveCampaign, *, scenario: str, lines: Sequence[PurchaseLine] = (), event_type: str | None = None
) -> bool:
    """Whether the campaign can earn anything here, judged on the purchase or event alone (not the member): its
    scenario and event types, and for a purchase a line it takes and its minimum order."""
    rule = campaign.rules.accrual
    if rule is None or rule.scenario != scenario:
        return False
    if scenario == "event":
        return event_type in rule.event_types
    amount = sum((line.amount for line in _eligible_lines(rule, lines)), Decimal(0))
    return amount > 0 and amount >= rule.min_order


def decide(
    campaigns: list[LiveCampaign],
    facts: MemberFacts,
    *,
    scenario: str,
    lines: Sequence[PurchaseLine] = (),
    event_type: str | None = None,
) -> list[Decision]:
    """A decision for every campaign of the `scenario` ("payment", "shipment" or "event" of `event_type`), in the
    order they were taken; campaigns of other scenarios and events are left out."""
    words = wording()
    decisions: list[Decision] = []
    applied_before = False
    stopped_by: LiveCampaign | None = None
    for campaign in sorted(campaigns, key=lambda c: (-c.priority, c.code)):
        rule = campaign.rules.accrual
        if rule is None or rule.scenario != scenario or (scenario == "event" and event_type not in rule.event_types):
            continue
        if stopped_by is not None:
            decisions.append(Decision(campaign, False, [words.excluded_by % {"code": stopped_by.code}]))
            continue
        if campaign.combination == "exclusive" and applied_before:
            decisions.append(Decision(campaign, False, [words.exclusive]))
            continue
        verdict = evaluate(campaign.rules.conditions, facts) if campaign.rules.conditions else None
        if verdict is not None and not verdict.passed:
            decisions.append(Decision(campaign, False, [words.not_qualified], verdict))
            continue
        held = holds_out(campaign, facts)
        if held is not None:
            why = words.control_group if held == "control_group" else words.held_out % {
                "share": words.number(campaign.rules.holdout_percent)}
            decisions.append(Decision(campaign, False, [why], verdict))
            continue
        outcome = (_event_points(rule, words) if scenario == "event"
                   else _purchase_points(rule, lines, facts.tier, words))
        if isinstance(outcome, str):
            decisions.append(Decision(campaign, False, [outcome], verdict))
            continue
        desired, by_line, reasons = outcome
        granted = desired
        for left, why in ((campaign.budget_left, words.budget), (campaign.limit_left, words.member_limit)):
            if left is not None and left < granted:
                granted = max(left, 0)
                reasons.append(words.cut_to % {"points": granted, "what": why})
        if granted != desired:
            by_line = split_by_weight(granted, {n: Decimal(p) for n, p in by_line.items()}) if by_line else {}
        reasons.append(words.earns % {"points": granted})
        decisions.append(Decision(campaign, granted > 0, reasons, verdict, desired, granted, by_line))
        if granted > 0:
            applied_before = True
            if campaign.combination == "exclusive":
                stopped_by = campaign
    return decisions
