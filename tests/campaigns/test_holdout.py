"""Control groups of promo campaigns: the engine, the eligibility SQL and the purchase path hold out the same
members — the programme's control group of the month and the campaign's own share — and never out of base earning
or compensation."""

from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kopilka.campaigns import conditions as c
from kopilka.campaigns import holdout, services
from kopilka.campaigns.eligibility import HoldoutOf, eligible_members, eligible_split, offered_members
from kopilka.campaigns.engine import LiveCampaign, PurchaseLine, decide, holds_out
from kopilka.campaigns.errors import RulesInvalid
from kopilka.campaigns.facts import member_facts
from kopilka.campaigns.models import CampaignVersion
from kopilka.campaigns.rules import parse_rules
from kopilka.core import clock, programme
from kopilka.core import holdout as control_group
from tests import factories

from .conftest import NOW
from .test_conditions import _trees

pytestmark = pytest.mark.django_db
RULES = {"accrual": {"reward": "percent", "percent": "10"}}


def _live(code: str, category: str, share: str = "0", conditions=None) -> LiveCampaign:
    rules = parse_rules({**RULES, "holdout_percent": share,
                         "conditions": conditions.model_dump(mode="json") if conditions else None})
    return LiveCampaign(code=code, reference=f"{code}:v1", public_name=code, lot_category=category, priority=100,
                        combination="stack", rules=rules)


@pytest.fixture
def crowd(programme):
    """The programme's five members and thirty more without history."""
    more = [factories.member(f"Участник-{n}", registered_at=NOW - timedelta(days=400)) for n in range(30)]
    return {**programme, **{f"m{m.pk}": m for m in more}}


def _by_engine(campaign: LiveCampaign, crowd) -> set[int]:
    """The members whose conditions pass and whom the campaign does not hold out, decided one by one."""
    offered = set()
    for m in crowd.values():
        facts = member_facts(m.pk, NOW)
        passes = campaign.rules.conditions is None or c.evaluate(campaign.rules.conditions, facts).passed
        if passes and holds_out(campaign, facts) is None:
            offered.add(m.pk)
    return offered


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tree=st.one_of(st.none(), _trees), code=st.sampled_from(["spring", "autumn", "x-1"]),
       share=st.sampled_from(["0", "10", "33.33", "50"]), programme_share=st.sampled_from(["0", "15", "50"]),
       category=st.sampled_from(["promo", "base", "compensation"]))
def test_the_engine_and_the_sql_offer_a_campaign_to_the_same_members(crowd, tree, code, share, programme_share,
                                                                      category):
    programme.change({"CONTROL_GROUP_PERCENT": programme_share}, actor="t")
    campaign = _live(code, category, share if category == "promo" else "0", tree)
    of = HoldoutOf(code, category, campaign.rules.holdout_percent)

    by_sql = set(offered_members(tree, of, NOW).values_list("pk", flat=True))

    assert by_sql == _by_engine(campaign, crowd)
    split = eligible_split(tree, of, NOW)
    assert split.offered == len(by_sql)
    assert split.members == eligible_members(tree, NOW).count()


def test_counts_say_how_many_the_programme_and_the_campaign_hold_out(crowd):
    programme.change({"CONTROL_GROUP_PERCENT": "20"}, actor="t")
    ids = [m.pk for m in crowd.values()]
    in_group = {i for i in ids if control_group.in_global_control_group(i, NOW)}
    own = {i for i in ids if holdout.held_out(i, "spring", Decimal(40))} - in_group

    split = eligible_split(None, HoldoutOf("spring", "promo", Decimal(40)), NOW)

    assert (split.members, split.control_group, split.held_out) == (35, len(in_group), len(own))
    assert split.offered == 35 - len(in_group) - len(own)
    assert eligible_split(None, HoldoutOf("base", "base", Decimal(0)), NOW) == type(split)(35, 0, 0)


def test_a_held_out_member_is_told_why_and_earns_nothing_from_the_promo_but_all_from_the_base(crowd):
    programme.change({"CONTROL_GROUP_PERCENT": "30"}, actor="t")
    promo, base = _live("spring", "promo", "30"), _live("base", "base")
    lines = [PurchaseLine(1, "HA-1", Decimal("1000"))]
    ids = sorted(m.pk for m in crowd.values())
    in_group = next(i for i in ids if control_group.in_global_control_group(i, NOW))
    own = next(i for i in ids if holdout.held_out(i, "spring", Decimal(30))
               and not control_group.in_global_control_group(i, NOW))
    exposed = next(i for i in ids if not holdout.held_out(i, "spring", Decimal(30))
                   and not control_group.in_global_control_group(i, NOW))

    said = {}
    for who in (in_group, own, exposed):
        decisions = decide([promo, base], member_facts(who, NOW), scenario="payment", lines=lines)
        said[who] = {d.campaign.code: (d.granted, d.reasons[-1]) for d in decisions}

    assert said[in_group] == {"spring": (0, "held out: the member is in the programme's control group this month"),
                              "base": (100, "earns 100")}
    assert said[own] == {"spring": (0, "held out: the member is in the campaign's control group (30 %)"),
                         "base": (100, "earns 100")}
    assert said[exposed] == {"spring": (100, "earns 100"), "base": (100, "earns 100")}


def test_only_a_promo_campaign_may_hold_members_out_and_a_refusal_changes_nothing(db):
    with pytest.raises(RulesInvalid) as refused:
        services.create_campaign(code="base", name="База", type="base", starts_at=clock.now(), actor="t",
                                 rules={**RULES, "holdout_percent": "10"})
    assert refused.value.details["problems"][0]["type"] == "holdout_not_promo"
    assert not CampaignVersion.objects.exists()

    factories.live_campaign("kept", RULES, type="compensation")
    with pytest.raises(RulesInvalid):
        services.update_rules(code="kept", rules={**RULES, "holdout_percent": "10"}, actor="t")
    assert list(CampaignVersion.objects.values_list("number", "rules")) == [
        (1, parse_rules(RULES).model_dump(mode="json"))]


def test_a_holdout_on_a_live_promo_campaign_is_a_new_version_and_rules_without_one_read_back_equal(db):
    factories.live_campaign("spring", RULES, type="promo")
    unchanged = services.update_rules(code="spring", rules=RULES, actor="t")
    changed = services.update_rules(code="spring", rules={**RULES, "holdout_percent": "12.5"}, actor="t")

    assert unchanged.number == 1 and "holdout_percent" not in unchanged.rules
    assert (changed.number, changed.rules["holdout_percent"]) == (2, "12.5")
    with pytest.raises(RulesInvalid):
        services.update_rules(code="spring", rules={**RULES, "holdout_percent": "50.01"}, actor="t")
    assert CampaignVersion.objects.count() == 2
