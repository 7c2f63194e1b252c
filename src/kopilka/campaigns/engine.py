"""What a purchase or an event earns under the live campaigns (SPEC §3) — decisions that explain themselves.

Pure: the live campaigns, the member's facts and the purchase come in; a decision per campaign comes out, with
the points it wants, the points it may grant (budget and per-member limit), how they split over the lines, and
its reasons in the reader's language.

How campaigns combine: they are taken by priority (higher first, then by code). A stacking campaign adds to
what came before it. An exclusive campaign applies only if nothing applied before it, and when it applies
nothing after it does.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from functools import lru_cache

from django.utils.formats import get_format, number_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from kopilka.campaigns.conditions import MemberFacts, Verdict, evaluate
from kopilka.campaigns.rules import AccrualRule, CampaignRules


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


def _money(amount: Decimal) -> str:
    """Roubles for people: kopecks rounded half up, grouped digits, the local decimal sign."""
    shown = amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    decimal_sign, thousands, grouping = _number_signs(get_language())
    if grouping != 3:
        return number_format(shown, decimal_pos=2, use_l10n=True, force_grouping=True) + " ₽"
    return f"{shown:,.2f}".translate({ord(","): thousands, ord("."): decimal_sign}) + " ₽"


@lru_cache(maxsize=32)
def _number_signs(language: str | None) -> tuple[str, str, object]:
    """The active language's decimal sign, thousands separator and grouping (a dozen explanations per cart each
    format money: Django's general formatter costs more than the rest of the decision)."""
    return get_format("DECIMAL_SEPARATOR"), get_format("THOUSAND_SEPARATOR"), get_format("NUMBER_GROUPING")


def _floor(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_DOWN))


def split_by_weight(total: int, weights: dict[int, Decimal]) -> dict[int, int]:
    """`total` points over the keys in proportion to the weights, whole points summing to `total` exactly
    (largest remainder; ties to the smaller key)."""
    whole = sum(weights.values(), Decimal(0))
    if total == 0 or whole == 0:
        return {key: 0 for key in weights}
    exact = {key: Decimal(total) * weight / whole for key, weight in weights.items()}
    shares = {key: _floor(value) for key, value in exact.items()}
    left = total - sum(shares.values())
    for key in sorted(exact, key=lambda k: (-(exact[k] - shares[k]), k))[:left]:
        shares[key] += 1
    return shares


def _eligible_lines(rule: AccrualRule, lines: Sequence[PurchaseLine]) -> list[PurchaseLine]:
    include, exclude = set(rule.include_groups), set(rule.exclude_groups)
    return [
        line for line in lines
        if (not include or line.groups & include) and not (line.groups & exclude)
    ]


def _purchase_points(
    rule: AccrualRule, lines: Sequence[PurchaseLine], tier: str | None
) -> tuple[int, dict[int, int], list[str]] | str:
    """(points, by line, how) — or why the purchase earns nothing under this rule."""
    eligible = _eligible_lines(rule, lines)
    amount = sum((line.amount for line in eligible), Decimal(0))
    if not eligible or amount == 0:
        return _("no line of the purchase takes part")
    if amount < rule.min_order:
        return _("the minimum order of %(min)s is not reached (%(amount)s)") % {
            "min": _money(rule.min_order), "amount": _money(amount),
        }
    if rule.reward == "percent":
        percent = rule.tier_percents.get(tier, rule.percent) if tier else rule.percent
        assert percent is not None  # AccrualRule refuses a percent reward without a percent
        reward = amount * percent / 100
        points = _floor(reward / rule.roubles_per_point * rule.multiplier)
        how = _("%(percent)s %% of %(amount)s = %(reward)s at 1 point = %(rate)s") % {
            "percent": number_format(percent, use_l10n=True), "amount": _money(amount),
            "reward": _money(reward), "rate": _money(rule.roubles_per_point),
        }
    else:
        assert rule.points is not None  # AccrualRule refuses a fixed reward without points
        points = _floor(rule.points * rule.multiplier)
        how = _("%(points)s points for the purchase") % {"points": rule.points}
    reasons = [how]
    if rule.reward == "percent" and tier in rule.tier_percents:
        reasons.insert(0, _("the percent of tier %(tier)s") % {"tier": tier})
    if rule.multiplier != 1:
        reasons.append(_("multiplied by %(m)s") % {"m": number_format(rule.multiplier, use_l10n=True)})
    by_line = split_by_weight(points, {line.number: line.amount for line in eligible})
    return points, by_line, reasons


def _event_points(rule: AccrualRule) -> tuple[int, dict[int, int], list[str]]:
    assert rule.points is not None  # AccrualRule: an event earns fixed points
    points = _floor(rule.points * rule.multiplier)
    return points, {}, [_("%(points)s points for the event") % {"points": points}]


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
    decisions: list[Decision] = []
    applied_before = False
    stopped_by: LiveCampaign | None = None
    for campaign in sorted(campaigns, key=lambda c: (-c.priority, c.code)):
        rule = campaign.rules.accrual
        if rule is None or rule.scenario != scenario or (scenario == "event" and event_type not in rule.event_types):
            continue
        if stopped_by is not None:
            decisions.append(Decision(campaign, False, [_("excluded by %(code)s") % {"code": stopped_by.code}]))
            continue
        if campaign.combination == "exclusive" and applied_before:
            decisions.append(Decision(campaign, False, [_("exclusive, and another campaign applies")]))
            continue
        verdict = evaluate(campaign.rules.conditions, facts) if campaign.rules.conditions else None
        if verdict is not None and not verdict.passed:
            decisions.append(Decision(campaign, False, [_("the member does not qualify")], verdict))
            continue
        outcome = _event_points(rule) if scenario == "event" else _purchase_points(rule, lines, facts.tier)
        if isinstance(outcome, str):
            decisions.append(Decision(campaign, False, [outcome], verdict))
            continue
        desired, by_line, reasons = outcome
        granted = desired
        for left, why in ((campaign.budget_left, _("campaign budget")), (campaign.limit_left, _("member limit"))):
            if left is not None and left < granted:
                granted = max(left, 0)
                reasons.append(_("cut to %(points)s by the %(what)s") % {"points": granted, "what": why})
        if granted != desired:
            by_line = split_by_weight(granted, {n: Decimal(p) for n, p in by_line.items()}) if by_line else {}
        reasons.append(_("earns %(points)s") % {"points": granted})
        decisions.append(Decision(campaign, granted > 0, reasons, verdict, desired, granted, by_line))
        if granted > 0:
            applied_before = True
            if campaign.combination == "exclusive":
                stopped_by = campaign
    return decisions
