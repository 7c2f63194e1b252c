"""Conditions decide for one member with an explanation, and as one SQL query for all members; both agree."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kopilka.campaigns import conditions as c
from kopilka.campaigns.eligibility import eligible_members, member_filter
from kopilka.campaigns.facts import member_facts
from kopilka.core import clock
from kopilka.customers import services as members
from kopilka.customers.models import Member
from tests import factories

from .conftest import NOW

pytestmark = pytest.mark.django_db

SIBERIA = "Сибирский федеральный округ"


def _who(condition, programme) -> set[str]:
    """The names of the members for whom the condition holds, decided one by one."""
    return {name for name, m in programme.items() if c.evaluate(condition, member_facts(m.pk, NOW)).passed}


def _summarised(condition, programme) -> set[str]:
    """The same, on the purchase path's history: one bounded query answering just what the condition asks."""
    campaign = SimpleNamespace(rules=SimpleNamespace(conditions=condition))
    return {name for name, m in programme.items()
            if c.evaluate(condition, member_facts(m.pk, NOW, campaigns=[campaign])).passed}


def _sql(condition, programme) -> set[str]:
    names = {m.pk: name for name, m in programme.items()}
    return {names[pk] for pk in Member.objects.filter(member_filter(condition, NOW)).values_list("pk", flat=True)}


@pytest.mark.parametrize(
    ("tree", "expected"),
    [
        ({"type": "member_kind", "kind": "legal_entity"}, {"boris"}),
        ({"type": "tags", "tags": ["doctor", "clinic"]}, {"anna", "boris", "vera"}),
        ({"type": "tags", "tags": ["doctor", "vip"], "match": "all"}, {"anna"}),
        ({"type": "eligibility", "flags": ["certified-injector", "trained-peels"]}, {"boris"}),
        ({"type": "region", "federal_districts": [SIBERIA]}, {"anna", "gleb"}),
        ({"type": "region", "regions": ["77", "78"]}, {"boris", "vera"}),
        ({"type": "city", "cities": ["54:Новосибирск", "78:Пушкин"]}, {"anna", "vera"}),
        ({"type": "city", "cities": ["54:Москва"]}, set()),  # a name counts only in its region
        # members without a city are outside every city: NOT holds for them too
        ({"type": "not", "of": {"type": "city", "cities": ["54:Новосибирск"]}}, {"boris", "vera", "gleb", "dina"}),
        # and a member without a region is outside every region
        ({"type": "not", "of": {"type": "region", "federal_districts": [SIBERIA]}}, {"boris", "vera", "dina"}),
        ({"type": "million_plus"}, {"anna", "boris"}),
        ({"type": "not", "of": {"type": "million_plus"}}, {"vera", "gleb", "dina"}),
        ({"type": "orders", "op": "lt", "value": 2}, {"vera", "gleb", "dina"}),
        ({"type": "orders", "op": "ge", "value": 1, "within_days": 30}, {"anna", "vera"}),
        ({"type": "spent", "op": "gt", "value": "8000", "within_days": 365}, {"anna", "boris"}),
        ({"type": "spent", "op": "eq", "value": "1450.50"}, {"vera"}),
        ({"type": "lifecycle", "stages": ["new"]}, {"vera"}),
        ({"type": "lifecycle", "stages": ["active"]}, {"anna"}),
        ({"type": "lifecycle", "stages": ["lapsing"]}, {"boris"}),
        ({"type": "lifecycle", "stages": ["lapsed"]}, {"gleb", "dina"}),
        ({"type": "purchased", "groups": ["fillers"], "within_days": 200}, {"anna", "boris"}),
        ({"type": "purchased", "skus": ["NEEDLE"]}, {"anna", "boris"}),
        ({"type": "purchased", "groups": ["care"], "within_days": 30}, {"anna", "vera"}),
        ({"type": "birthday", "days": 0}, {"vera"}),
        ({"type": "birthday", "days": 1}, {"vera", "gleb"}),  # 29 February is celebrated on the 28th
        ({"type": "birthday", "days": 4}, {"vera", "gleb", "anna"}),
        (
            {"type": "all", "of": [
                {"type": "tags", "tags": ["doctor"]},
                {"type": "region", "federal_districts": [SIBERIA]},
                {"type": "orders", "op": "lt", "value": 5},
            ]},
            {"anna"},
        ),
        ({"type": "not", "of": {"type": "region", "regions": ["54"]}}, {"boris", "vera", "dina"}),
        ({"type": "not", "of": {"type": "birthday", "days": 1}}, {"anna", "boris", "dina"}),
    ],
)
def test_each_condition_selects_the_same_members_one_by_one_and_in_sql(programme, tree, expected):
    condition = c.parse(tree)

    assert _who(condition, programme) == expected
    assert _summarised(condition, programme) == expected
    assert _sql(condition, programme) == expected


def test_a_decision_explains_itself_in_words(programme):
    condition = c.parse({"type": "all", "of": [
        {"type": "tags", "tags": ["doctor"]},
        {"type": "region", "federal_districts": [SIBERIA]},
        {"type": "orders", "op": "lt", "value": 5},
    ]})

    verdict = c.evaluate(condition, member_facts(programme["vera"].pk, NOW))

    assert not verdict.passed
    assert verdict.explain() == "\n".join([
        "✗ all of the following",
        "  ✓ has any of the tags doctor (the member: doctor)",
        f"  ✗ lives in {SIBERIA} (the member: 78 / Северо-Западный федеральный округ)",
        "  ✓ orders over all time < 5 (the member: 1)",
    ])


def test_eligible_now_leaves_out_blocked_members(programme):
    members.block_member(member_id=programme["anna"].pk, reason="проверка", actor="t")

    eligible = eligible_members(c.parse({"type": "tags", "tags": ["doctor"]}), NOW)

    assert set(eligible.values_list("last_name", flat=True)) == {"Веселова"}


def test_trees_are_validated_and_round_trip_through_json():
    tree = {"type": "any", "of": [{"type": "member_kind", "kind": "individual"}, {"type": "birthday", "days": 3}]}

    assert c.parse(tree).model_dump(mode="json", exclude_defaults=False)["of"][1] == {"type": "birthday", "days": 3}
    for bad in ({"type": "orders", "op": "lt", "value": -1}, {"type": "all", "of": []}, {"type": "moon"},
                {"type": "tags", "tags": ["x"], "colour": "red"}):
        with pytest.raises(ValueError):
            c.parse(bad)


# --- one by one and in SQL agree on any tree -----------------------------------------------------------------------

_windows = st.one_of(st.none(), st.sampled_from([1, 4, 30, 100, 140, 365, 1000]))
_leaves = st.one_of(
    st.builds(c.MemberKind, kind=st.sampled_from(["individual", "legal_entity"])),
    st.builds(c.HasTags, tags=st.lists(st.sampled_from(["doctor", "clinic", "vip"]), min_size=1, max_size=2),
              match=st.sampled_from(["any", "all"])),
    st.builds(c.HasFlags, flags=st.lists(st.sampled_from(["certified-injector", "trained-peels"]), min_size=1),
              match=st.sampled_from(["any", "all"])),
    st.builds(c.InRegion, regions=st.lists(st.sampled_from(["54", "77", "78"]), max_size=2),
              federal_districts=st.lists(st.sampled_from([SIBERIA, "Центральный федеральный округ"]), max_size=1)),
    st.builds(c.InCity, cities=st.lists(st.sampled_from(["54:Новосибирск", "77:Москва", "78:Пушкин"]), min_size=1,
                                        max_size=2)),
    st.just(c.MillionPlusCity()),
    st.builds(c.OrderCount, op=st.sampled_from(["lt", "le", "gt", "ge", "eq"]), value=st.integers(0, 4),
              within_days=_windows),
    st.builds(c.TotalSpent, op=st.sampled_from(["lt", "le", "gt", "ge", "eq"]),
              value=st.sampled_from(["0", "300", "1450.50", "6900", "8350.50", "20000"]), within_days=_windows),
    st.builds(c.LifecycleStage, stages=st.lists(st.sampled_from(["new", "active", "lapsing", "lapsed"]),
                                                min_size=1, max_size=2)),
    st.builds(c.Purchased, skus=st.lists(st.sampled_from(["HA-1", "CREAM", "NEEDLE"]), max_size=1),
              groups=st.lists(st.sampled_from(["fillers", "ha", "care"]), max_size=1), within_days=_windows),
    st.builds(c.Birthday, days=st.integers(0, 6)),
)
_trees = st.recursive(
    _leaves,
    lambda children: st.one_of(
        st.builds(c.AllOf, of=st.lists(children, min_size=1, max_size=3)),
        st.builds(c.AnyOf, of=st.lists(children, min_size=1, max_size=3)),
        st.builds(c.Not, of=children),
    ),
    max_leaves=6,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tree=_trees)
def test_one_by_one_summarised_and_sql_agree_on_random_trees(programme, tree):
    assert _who(tree, programme) == _summarised(tree, programme) == _sql(tree, programme)


@pytest.mark.parametrize("op, expected", [("ge", True), ("eq", True), ("lt", False), ("gt", False)])
def test_sums_of_spending_are_exact_to_the_kopeck_in_the_eligibility_sql(op, expected):
    """512.06 + 0.29 + 487.65 added as binary floats (SQLite's REAL) in that order is 999.9999999999999."""
    who = factories.member("Точная")
    start = clock.now() - timedelta(days=10)
    for n, total in enumerate(["512.06", "0.29", "487.65"]):
        factories.stored_order(who, start + timedelta(days=n), total)
    condition = c.parse({"type": "spent", "op": op, "value": "1000"})

    assert eligible_members(condition).filter(pk=who.pk).exists() is expected
