"""Utilization rate (SPEC §2.10)."""

from datetime import timedelta
from fractions import Fraction

import pytest

from kopilka.core.errors import ValidationFailed
from kopilka.ledger import services
from kopilka.ledger.selectors import utilization

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
