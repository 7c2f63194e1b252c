"""The hash of control groups: Python and SQL agree on both databases, the share held out is the share asked, the
assignments of different salts are independent, and the programme's group rotates with the month."""

from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kopilka.core import holdout, programme, sql

SALT = st.integers(0, 2_147_483_646)
IDS = 100_000


def _sql_buckets(ids: list[int], salt: int) -> list[int]:
    rows = " UNION ALL ".join(["SELECT CAST(%s AS BIGINT) AS id"] * len(ids))
    found = sql.rows(f"SELECT v.id, {holdout.bucket_sql('v.id', salt)} FROM ({rows}) v ORDER BY v.id", ids)
    return [int(b) for _, b in found]


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ids=st.lists(st.one_of(st.integers(1, 10_000), st.integers(1, 2**63 - 1)), min_size=1, max_size=50,
                    unique=True), salt=SALT)
def test_python_and_sql_give_every_member_the_same_bucket(ids, salt):
    expected = [holdout.bucket(i, salt) for i in sorted(ids)]

    assert _sql_buckets(sorted(ids), salt) == expected
    assert all(0 <= b < holdout.BUCKETS for b in expected)


@pytest.mark.django_db
def test_sql_holds_out_exactly_the_members_python_does_over_a_hundred_thousand_ids():
    salt, share = holdout.salt_of("campaign:spring-fillers"), Decimal("12.5")
    python = sum(holdout.held_out(i, salt, share) for i in range(1, IDS + 1))

    found = sql.rows(f"""WITH RECURSIVE n(id) AS (SELECT 1 UNION ALL SELECT id + 1 FROM n WHERE id < {IDS})
                         SELECT COUNT(*) FROM n WHERE {holdout.held_out_sql('n.id', salt, share)}""")

    assert int(found[0][0]) == python
    assert abs(python / IDS - 0.125) < 4 * (0.125 * 0.875 / IDS) ** 0.5


@pytest.mark.parametrize("share", [Decimal("1"), Decimal("10"), Decimal("33.33"), Decimal("50")])
def test_the_share_held_out_is_close_to_the_share_asked_on_a_hundred_thousand_ids(share):
    p = float(share) / 100
    held = sum(holdout.held_out(i, holdout.salt_of("control-group:2026-03"), share) for i in range(1, IDS + 1))

    assert abs(held / IDS - p) < 4 * (p * (1 - p) / IDS) ** 0.5  # four standard errors of a share


@pytest.mark.parametrize(("first", "second"), [("campaign:a", "campaign:b"), ("control-group:2026-03",
                                                                              "control-group:2026-04")])
def test_different_salts_assign_independently(first, second):
    """Held out at 10 % under both salts: about 1 % of the members, as for two independent draws; the buckets do
    not correlate."""
    ids = range(1, IDS + 1)
    a = np.array([holdout.bucket(i, holdout.salt_of(first)) for i in ids])
    b = np.array([holdout.bucket(i, holdout.salt_of(second)) for i in ids])
    both = float(np.mean((a < 1000) & (b < 1000)))

    assert abs(both - 0.01) < 4 * (0.01 * 0.99 / IDS) ** 0.5
    assert abs(np.corrcoef(a, b)[0, 1]) < 4 / IDS ** 0.5
    counts = np.bincount(a // 100, minlength=100)  # a hundred equal ranges of buckets, 1000 ids expected in each
    assert ((counts - 1000) ** 2 / 1000).sum() < 148  # χ² with 99 degrees of freedom, p = 0.001


def test_consecutive_salts_assign_independently_too():
    a = np.array([holdout.bucket(i, 7) for i in range(1, IDS + 1)])
    b = np.array([holdout.bucket(i, 8) for i in range(1, IDS + 1)])

    assert abs(float(np.mean((a < 1000) & (b < 1000))) - 0.01) < 4 * (0.01 * 0.99 / IDS) ** 0.5


def test_a_share_is_read_to_the_hundredth_and_refused_outside_0_to_100():
    assert holdout.threshold(Decimal("12.34")) == 1234
    assert holdout.threshold(Decimal(0)) == 0
    assert holdout.held_out_sql("m.id", 1, Decimal(0)) == "1 = 0"
    for bad in (Decimal("-1"), Decimal("100.01"), Decimal("1.001")):
        with pytest.raises(ValueError):
            holdout.threshold(bad)
    with pytest.raises(ValueError):
        holdout.bucket_sql("m.id", -1)


@pytest.mark.django_db
def test_the_programme_group_holds_its_share_and_rotates_each_month_in_the_programme_time_zone():
    programme.change({"CONTROL_GROUP_PERCENT": "20", "TIME_ZONE": "Europe/Moscow"}, actor="t")
    march = datetime(2026, 3, 31, 20, 59, tzinfo=UTC)  # 23:59 in Moscow
    april = datetime(2026, 3, 31, 21, 0, tzinfo=UTC)  # 00:00 on 1 April in Moscow
    ids = range(1, 20_001)

    in_march = {i for i in ids if holdout.in_global_control_group(i, march)}
    in_april = {i for i in ids if holdout.in_global_control_group(i, april)}

    assert in_march == {i for i in ids if holdout.bucket(i, holdout.salt_of("control-group:2026-03")) < 2000}
    assert in_april == {i for i in ids if holdout.bucket(i, holdout.salt_of("control-group:2026-04")) < 2000}
    assert abs(len(in_march) / 20_000 - 0.2) < 0.012 and abs(len(in_april) / 20_000 - 0.2) < 0.012
    assert abs(len(in_march & in_april) / 20_000 - 0.04) < 0.006  # a new draw, not the same group
    found = sql.rows(f"""WITH RECURSIVE n(id) AS (SELECT 1 UNION ALL SELECT id + 1 FROM n WHERE id < 20000)
                         SELECT n.id FROM n WHERE {holdout.global_control_group_sql('n.id', april)}""")
    assert {int(i) for (i,) in found} == in_april


@pytest.mark.django_db
def test_without_a_share_nobody_is_in_the_programme_group():
    at = datetime(2026, 3, 1, tzinfo=UTC)

    assert holdout.global_share() == Decimal(0)
    assert not any(holdout.in_global_control_group(i, at) for i in range(1, 1001))
    assert holdout.global_control_group_sql("m.id", at) == "1 = 0"
