"""Utilization rate (SPEC §2.10)."""

from datetime import timedelta
from fractions import Fraction

import pytest
from django.utils import translation

from kopilka.core.errors import ValidationFailed
from kopilka.customers.models import Member, Region
from kopilka.ledger import services
from kopilka.ledger.selectors import utilization, utilization_by

from .conftest import T0, make_member, new_key


def test_flow_and_cohort_bases_answer_different_questions(db):
    member = make_member()
    services.accrue(member_id=member.pk, points=20, lifetime_days=5, actor="t", idempotency_key=new_key(), at=T0)
    services.accrue(member_id=member.pk, points=80, lifetime_days=300, actor="t", idempotency_key=new_key(), at=T0)
    services.spend(member_id=member.pk, points=20, actor="t", idempotency_key=new_key(), at=T0 + timedelta(days=1),
                   redemption_order="soonest_expiring")
    services.accrue(member_id=member.pk, points=20, lifetime_days=5, actor="t", idempotency_key=new_key(),
                    at=T0 + timedelta(days=60))
    services.expire(as_of=T0 + timedelta(days=70))
    first_month = (T0, T0 + timedelta(days=30))
    # In flow terms, March saw 100 accrued and 20 spent; the 20 that burned did so in May.
    march = utilization(*first_month)
    assert (march.accrued, march.spent, march.burned) == (100, 20, 0)
    whole = utilization(T0, T0 + timedelta(days=90), basis="cohort")
    cohort_march = utilization(*first_month, basis="cohort")
    assert (cohort_march.accrued, cohort_march.spent, cohort_march.burned) == (100, 20, 0)
    assert (whole.accrued, whole.spent, whole.burned) == (120, 20, 20)


def test_the_seeds_example_100_accrued_20_spent_20_burned(db):
    """«100 accrued, 20 spent, 20 burned → UR = 20 %, limiting UR = 80 %»."""
    member2 = make_member(last_name="Сидорова")
    t = T0 + timedelta(days=400)
    services.accrue(member_id=member2.pk, points=40, lifetime_days=3, actor="t", idempotency_key=new_key(), at=t)
    services.accrue(member_id=member2.pk, points=60, lifetime_days=300, actor="t", idempotency_key=new_key(), at=t)
    services.spend(member_id=member2.pk, points=20, actor="t", idempotency_key=new_key(), at=t + timedelta(days=1),
                   redemption_order="soonest_expiring")
    services.expire(as_of=t + timedelta(days=10))

    ur = utilization(t, t + timedelta(days=30), basis="cohort")

    assert (ur.accrued, ur.spent, ur.burned) == (100, 20, 20)
    assert ur.rate == Fraction(20, 100)
    assert ur.limiting_rate == Fraction(80, 100)
    flow = utilization(t, t + timedelta(days=30))
    assert (flow.rate, flow.limiting_rate) == (Fraction(1, 5), Fraction(4, 5))


def test_an_empty_period_has_no_rate_and_a_reversed_period_is_refused(db):
    ur = utilization(T0, T0 + timedelta(days=1))
    assert (ur.accrued, ur.rate, ur.limiting_rate) == (0, None, None)
    with pytest.raises(ValidationFailed):
        utilization(T0, T0)


# --- cut by campaign, category, region, member kind ---------------------------------------------------------

MARCH = (T0, T0 + timedelta(days=30))


def march_story() -> dict[str, int]:
    """Three members' March, worked by hand (T0 = 1 March; lots named L1...):

    Anna (individual, Moscow): L1 100 base from spring:v1 (lives 10 days), L2 50 promo from autumn:v1; spends
    120 (promo first: 50 from L2, 70 from L1), 20 come back into L1; the 50 left in L1 burn on 11 March.
    Boris LLC (legal entity, St Petersburg): L3 200 base from a partner, 30 of it taken back; a manual credit
    L4 40 compensation; spends 60 (40 from L4, 20 from L3); in April spends 100 more from L3.
    Vera (individual, no region): L5 80 promo from spring:v1, spends 30, then all 80 taken back under the
    "negative" policy (50 taken, 30 owed); L6 10 base from a partner settles the debt. In April spring:v1
    grants her 1,000 more (L7), outside March.
    """
    anna = make_member(last_name="Анна", region=Region.objects.get(code="77"))
    boris = make_member(last_name="", legal_name="ООО «Борис»", kind=Member.Kind.LEGAL_ENTITY,
                        inn="7707083893", region=Region.objects.get(code="78"))
    vera = make_member(last_name="Вера")

    def accrue(member, points, category, kind, ref, days, lifetime=300):
        return services.accrue(member_id=member.pk, points=points, category=category,
                               source=services.Source(kind, ref), lifetime_days=lifetime, actor="t",
                               idempotency_key=new_key(), at=T0 + timedelta(days=days))

    def spend(member, points, days):
        return services.spend(member_id=member.pk, points=points, actor="t", idempotency_key=new_key(),
                              at=T0 + timedelta(days=days), redemption_order="category_fifo")

    accrue(anna, 100, "base", "campaign", "spring:v1", 0, lifetime=10)
    accrue(anna, 50, "promo", "campaign", "autumn:v1", 0)
    spent = spend(anna, 120, 1)
    services.restore_spend(entry_id=spent.pk, points=20, actor="t", idempotency_key=new_key(),
                           at=T0 + timedelta(days=2))
    l3 = accrue(boris, 200, "base", "partner", "A-1", 3)
    services.reverse_accrual(entry_id=l3.pk, points=30, actor="t", idempotency_key=new_key(),
                             at=T0 + timedelta(days=4))
    services.adjust(member_id=boris.pk, points=40, reason_code="goodwill", actor="t",
                    idempotency_key=new_key(), at=T0 + timedelta(days=5))
    spend(boris, 60, 6)
    l5 = accrue(vera, 80, "promo", "campaign", "spring:v1", 7)
    spend(vera, 30, 8)
    services.reverse_accrual(entry_id=l5.pk, policy="negative", actor="t", idempotency_key=new_key(),
                             at=T0 + timedelta(days=9))
    accrue(vera, 10, "base", "partner", "A-2", 10)
    services.expire(as_of=T0 + timedelta(days=20))
    spend(boris, 100, 45)
    accrue(vera, 1000, "promo", "campaign", "spring:v1", 40)
    return {"anna": anna.pk, "boris": boris.pk, "vera": vera.pk}


def _rows(cut):
    return [(s.segment, s.accrued, s.spent, s.burned) for s in cut.segments]


def test_march_cut_by_campaign_category_region_and_member_kind(db, django_assert_num_queries):
    march_story()
    with django_assert_num_queries(1):
        by_campaign = utilization_by(*MARCH, by="campaign")
    # spring: 100 + 80 − 80 accrued; 70 − 20 + 30 spent; 50 burned. The rest came from no campaign.
    assert _rows(by_campaign) == [("autumn", 50, 50, 0), ("spring", 100, 80, 50), (None, 220, 60, 0)]
    assert _rows(utilization_by(*MARCH, by="category")) == [
        ("base", 280, 70, 50), ("compensation", 40, 40, 0), ("promo", 50, 80, 0)]
    assert _rows(utilization_by(*MARCH, by="region")) == [
        ("77", 150, 100, 50), ("78", 210, 60, 0), (None, 10, 30, 0)]
    with translation.override("ru"):
        by_kind = utilization_by(*MARCH, by="member_kind")
    assert _rows(by_kind) == [("individual", 160, 130, 50), ("legal_entity", 210, 60, 0)]
    assert [s.name for s in by_kind.segments] == ["физическое лицо", "юридическое лицо"]
    assert [s.name for s in utilization_by(*MARCH, by="region").segments] == ["Москва", "Санкт-Петербург", ""]

    spring = by_campaign.segments[1]
    assert (spring.rate, spring.limiting_rate) == (Fraction(80, 100), Fraction(1, 2))
    total = by_campaign.total
    assert (total.accrued, total.spent, total.burned) == (370, 190, 50)
    assert (total.rate, total.limiting_rate) == (Fraction(19, 37), Fraction(32, 37))
    whole = utilization(*MARCH)
    assert (whole.accrued, whole.spent, whole.burned) == (370, 190, 50)


def test_the_cohort_cut_follows_marchs_lots_into_april(db):
    march_story()
    cut = utilization_by(*MARCH, by="campaign", basis="cohort")
    # Boris's April spending of 100 comes from a March lot; Vera's April lot is not of March.
    assert _rows(cut) == [("autumn", 50, 50, 0), ("spring", 100, 80, 50), (None, 220, 160, 0)]
    whole = utilization(*MARCH, basis="cohort")
    total = cut.total
    assert (total.accrued, total.spent, total.burned) == (whole.accrued, whole.spent, whole.burned)
    assert (whole.accrued, whole.spent, whole.burned) == (370, 290, 50)


def test_a_cut_of_an_empty_period_has_no_segments_and_bad_arguments_are_refused(db):
    cut = utilization_by(*MARCH, by="region")
    assert (cut.segments, cut.total.accrued, cut.total.rate) == ([], 0, None)
    for args, code in [((T0, T0, "region"), "invalid_period"), ((*MARCH, "tier"), "unknown_segment")]:
        with pytest.raises(ValidationFailed) as refused:
            utilization_by(*args)
        assert refused.value.code == code
    with pytest.raises(ValidationFailed) as refused:
        utilization_by(*MARCH, by="region", basis="stock")
    assert refused.value.code == "unknown_basis"
