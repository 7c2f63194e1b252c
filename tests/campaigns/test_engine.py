"""What purchases and events earn: every accrual property of SPEC §3, and how campaigns combine."""

from datetime import UTC, date, datetime
from decimal import Decimal
from fractions import Fraction

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from kopilka.campaigns.conditions import MemberFacts
from kopilka.campaigns.engine import LiveCampaign, PurchaseLine, decide, split_by_weight
from kopilka.campaigns.rules import parse_rules

D = Decimal
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
DOCTOR = MemberFacts(kind="individual", registered_at=NOW, now=NOW, today=date(2026, 3, 1), tags=frozenset({"doctor"}),
                     region="54", federal_district="Сибирский федеральный округ")
CART = [
    PurchaseLine(1, "HA-1", D("10000"), frozenset({"fillers", "ha"})),
    PurchaseLine(2, "CREAM", D("1450.50"), frozenset({"care"})),
    PurchaseLine(3, "NEEDLE", D("300"), frozenset()),
]


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def campaign(code="base", *, priority=100, combination="stack", budget_left=None, limit_left=None, **rules):
    rules.setdefault("accrual", {"reward": "percent", "percent": "5"})
    return LiveCampaign(code=code, reference=f"{code}:v1", public_name=code.title(), lot_category="base",
                        priority=priority, combination=combination, rules=parse_rules(rules),
                        budget_left=budget_left, limit_left=limit_left)


def earned(decisions) -> dict[str, int]:
    return {d.campaign.code: d.granted for d in decisions if d.applied}


def test_percent_of_the_purchase_split_over_its_lines():
    (decision,) = decide([campaign()], DOCTOR, scenario="payment", lines=CART)

    assert (decision.desired, decision.granted) == (587, 587)  # 5 % of 11 750.50 = 587.525
    assert decision.by_line == {1: 500, 2: 72, 3: 15}
    assert "5 % of 11,750.50 ₽ = 587.53 ₽ at 1 point = 1.00 ₽" in decision.reasons[0]


def test_conversion_rate_and_multiplier():
    rules = {"accrual": {"reward": "percent", "percent": "10", "roubles_per_point": "2", "multiplier": "2"}}

    (decision,) = decide([campaign(**rules)], DOCTOR, scenario="payment", lines=CART)

    assert decision.granted == 1175  # 10 % = 1 175.05 ₽ → 587.525 points at 2 ₽ → × 2


def test_fixed_points_per_purchase_and_minimum_order():
    fixed = campaign("fixed", accrual={"reward": "fixed", "points": 300, "min_order": "12000"})
    reachable = campaign("low", accrual={"reward": "fixed", "points": 100, "min_order": "500"})

    decisions = decide([fixed, reachable], DOCTOR, scenario="payment", lines=CART)

    assert earned(decisions) == {"low": 100}
    assert "minimum order of 12,000.00 ₽ is not reached (11,750.50 ₽)" in decisions[0].reasons[0]


def test_included_and_excluded_product_groups():
    only_fillers = campaign("fillers", accrual={"reward": "percent", "percent": "10", "include_groups": ["fillers"]})
    not_care = campaign("nocare", accrual={"reward": "percent", "percent": "10", "exclude_groups": ["care"]})

    decisions = decide([only_fillers, not_care], DOCTOR, scenario="payment", lines=CART)

    assert earned(decisions) == {"fillers": 1000, "nocare": 1030}
    assert decisions[0].by_line == {1: 1000}


def test_budget_and_member_limit_grant_less_than_desired():
    decisions = decide(
        [campaign("a", budget_left=200), campaign("b", limit_left=50), campaign("c", budget_left=0)],
        DOCTOR, scenario="payment", lines=CART,
    )

    assert [(d.campaign.code, d.desired, d.granted, d.applied) for d in decisions] == [
        ("a", 587, 200, True), ("b", 587, 50, True), ("c", 587, 0, False),
    ]
    assert sum(decisions[0].by_line.values()) == 200


def test_conditions_decide_and_explain():
    siberia = campaign("siberia", conditions={"type": "all", "of": [
        {"type": "tags", "tags": ["doctor"]}, {"type": "region", "regions": ["77"]},
    ]})

    (decision,) = decide([siberia], DOCTOR, scenario="payment", lines=CART)

    assert not decision.applied
    assert decision.explain().splitlines()[0] == "Siberia (siberia:v1): the member does not qualify"
    assert "✗ lives in 77 (the member: 54 / Сибирский федеральный округ)" in decision.explain()


def test_only_the_campaigns_of_the_scenario_take_part():
    on_shipment = campaign("ship", accrual={"reward": "percent", "percent": "5", "scenario": "shipment"})
    on_payment = campaign("pay")

    assert earned(decide([on_shipment, on_payment], DOCTOR, scenario="payment", lines=CART)) == {"pay": 587}
    assert earned(decide([on_shipment, on_payment], DOCTOR, scenario="shipment", lines=CART)) == {"ship": 587}


def test_events_earn_fixed_points_of_the_campaigns_for_that_event():
    review = campaign("review", accrual={"reward": "fixed", "points": 150, "scenario": "event",
                                         "event_types": ["review"], "multiplier": "2"})

    assert earned(decide([review], DOCTOR, scenario="event", event_type="review")) == {"review": 300}
    assert earned(decide([review], DOCTOR, scenario="event", event_type="birthday")) == {}


def test_stacking_campaigns_add_up():
    decisions = decide([campaign("base"), campaign("promo", priority=50)], DOCTOR, scenario="payment", lines=CART)

    assert earned(decisions) == {"base": 587, "promo": 587}


def test_an_exclusive_campaign_first_in_priority_stops_the_rest():
    decisions = decide(
        [campaign("base"), campaign("vip", priority=200, combination="exclusive"), campaign("promo", priority=50)],
        DOCTOR, scenario="payment", lines=CART,
    )

    assert earned(decisions) == {"vip": 587}
    assert [d.reasons[0] for d in decisions[1:]] == ["excluded by vip", "excluded by vip"]


def test_an_exclusive_campaign_after_one_that_applied_stays_out_but_applies_when_that_one_does_not():
    base = campaign("base", conditions={"type": "tags", "tags": ["doctor"]})
    exclusive = campaign("solo", priority=50, combination="exclusive",
                         accrual={"reward": "percent", "percent": "7"})
    clinic = MemberFacts(kind="legal_entity", registered_at=NOW, now=NOW, today=date(2026, 3, 1))

    assert earned(decide([base, exclusive], DOCTOR, scenario="payment", lines=CART)) == {"base": 587}
    assert earned(decide([base, exclusive], clinic, scenario="payment", lines=CART)) == {"solo": 822}


@given(total=st.integers(0, 10_000), weights=st.lists(st.integers(0, 10**6), min_size=1, max_size=8))
def test_a_split_gives_whole_points_summing_to_the_total_each_within_one_of_its_share(total, weights):
    shares = split_by_weight(total, {n: D(w) for n, w in enumerate(weights)})

    if sum(weights) == 0:
        assert set(shares.values()) == {0}
        return
    assert sum(shares.values()) == total
    for n, w in enumerate(weights):
        assert abs(shares[n] - D(total) * w / sum(weights)) < 1


@given(total=st.integers(0, 10_000),
       weights=st.lists(st.decimals(0, 10**6, places=2, allow_nan=False, allow_infinity=False), min_size=1,
                        max_size=8))
def test_a_split_of_money_weights_is_the_exact_largest_remainder_split(total, weights):
    """Against the split worked in fractions: each key its whole share, the points left over to the largest
    remainders, ties to the smaller key."""
    whole = sum(weights, D(0))
    exact = {n: Fraction(total) * Fraction(w) / Fraction(whole) for n, w in enumerate(weights)} if whole else {}
    expected = {n: int(share) for n, share in exact.items()} or {n: 0 for n in range(len(weights))}
    if whole and total:
        left = total - sum(expected.values())
        for n in sorted(exact, key=lambda k: (-(exact[k] - int(exact[k])), k))[:left]:
            expected[n] += 1

    assert split_by_weight(total, dict(enumerate(weights))) == expected


def test_a_tier_percent_replaces_the_percent_for_members_of_that_tier():
    rules = {"accrual": {"reward": "percent", "percent": "3", "tier_percents": {"gold": "7"}}}
    gold = MemberFacts(kind="individual", registered_at=NOW, now=NOW, today=date(2026, 3, 1), tier="gold")

    (plain,) = decide([campaign(**rules)], DOCTOR, scenario="payment", lines=CART)
    (golden,) = decide([campaign(**rules)], gold, scenario="payment", lines=CART)

    assert (plain.granted, golden.granted) == (352, 822)
    assert golden.reasons[:2] == ["the percent of tier gold", "7 % of 11,750.50 ₽ = 822.54 ₽ at 1 point = 1.00 ₽"]
