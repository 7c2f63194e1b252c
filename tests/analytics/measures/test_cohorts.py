"""Cohort retention: a cohort is the month (week) of the first counted purchase, or of registration; a cell is the
share of the cohort who bought in the period `offset` after it; months and weeks are the programme's (Moscow).

The people, all in the first quarter of 2026 unless said:
- Anna (registered in December): 100 on 10 Jan, 200 at 22:30 UTC on 31 Jan (1 Feb in Moscow), 300 on 5 Mar;
- Boris (registered 5 Jan): 50 on 20 Jan, a cancelled 999 on 15 Feb, 70 on 10 Mar;
- Vera (registered 1 Feb): 500 on 14 Feb and 100 on 20 Feb;
- Egor (registered 20 Jan): his only purchase, 400 at 22:30 UTC on 31 Jan — 1 Feb in Moscow;
- Gleb (registered in November): first bought in December (1000), then 10 on 15 Jan — an earlier cohort;
- Dina (registered 2 Mar): no purchases; a non-member bought for 5000 on 10 Jan.
"""

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from kopilka.analytics.data.scope import Scope
from kopilka.analytics.measures.cohorts import period_index, period_start, retention
from kopilka.core.errors import ValidationFailed
from kopilka.customers import services as members
from kopilka.orders.models import Order
from tests.factories import stored_order

pytestmark = pytest.mark.django_db
QUARTER = Scope(date(2026, 1, 1), date(2026, 3, 31))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def order(member, when: str, total: str, status=Order.Status.COMPLETED) -> Order:
    return stored_order(member, at(when), total, status=status)


@pytest.fixture
def people(db):
    anna = members.create_member(actor="t", last_name="Анна", registered_at=at("2025-12-10T09:00"))
    order(anna, "2026-01-10T09:00", "100")
    order(anna, "2026-01-31T22:30", "200")
    order(anna, "2026-03-05T09:00", "300")
    boris = members.create_member(actor="t", last_name="Борис", registered_at=at("2026-01-05T09:00"))
    order(boris, "2026-01-20T09:00", "50")
    order(boris, "2026-02-15T09:00", "999", status=Order.Status.CANCELLED)
    order(boris, "2026-03-10T09:00", "70")
    vera = members.create_member(actor="t", last_name="Вера", registered_at=at("2026-02-01T09:00"))
    order(vera, "2026-02-14T09:00", "500")
    order(vera, "2026-02-20T09:00", "100")
    egor = members.create_member(actor="t", last_name="Егор", registered_at=at("2026-01-20T09:00"))
    order(egor, "2026-01-31T22:30", "400")
    gleb = members.create_member(actor="t", last_name="Глеб", registered_at=at("2025-11-01T09:00"))
    order(gleb, "2025-12-20T09:00", "1000")
    order(gleb, "2026-01-15T09:00", "10")
    members.create_member(actor="t", last_name="Дина", registered_at=at("2026-03-02T09:00"))
    order(None, "2026-01-10T09:00", "5000")


def test_first_purchase_cohorts_by_month(people):
    result = retention(QUARTER, "month")
    assert result.cohorts == [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]
    # January: Anna and Boris (Egor's purchase is February's in Moscow, Gleb's cohort is December's)
    assert result.sizes.tolist() == [2, 2, 0]
    assert result.active.tolist() == [[2, 1, 2], [2, 0, 0], [0, 0, 0]]  # Boris's cancelled order is not a purchase
    assert result.observed.tolist() == [[True, True, True], [True, True, False], [True, False, False]]
    np.testing.assert_array_equal(result.shares, [[1.0, 0.5, 1.0], [1.0, 0.0, np.nan], [np.nan] * 3])
    assert result.revenue.tolist() == [[15000, 20000, 37000], [100000, 0, 0], [0, 0, 0]]  # kopecks
    assert result.revenue_per_member() == [[Decimal("75.00"), Decimal("100.00"), Decimal("185.00")],
                                           [Decimal("500.00"), Decimal("0.00"), None], [None, None, None]]


def test_registration_cohorts_count_members_who_never_bought(people):
    result = retention(QUARTER, "month", basis="registration")
    # January: Boris and Egor; February: Vera; March: Dina (no purchases). Anna and Gleb registered earlier.
    assert result.sizes.tolist() == [2, 1, 1]
    assert result.active.tolist() == [[1, 1, 1], [1, 0, 0], [0, 0, 0]]
    assert result.table().rows == [[date(2026, 1, 1), 2, 0.5, 0.5, 0.5], [date(2026, 2, 1), 1, 1.0, 0.0, None],
                                   [date(2026, 3, 1), 1, 0.0, None, None]]
    assert result.table("revenue").rows[0] == [date(2026, 1, 1), 2, Decimal("25.00"), Decimal("200.00"),
                                               Decimal("35.00")]


def test_weeks_run_from_monday_and_the_scope_cuts_the_ends(people):
    # 4 Feb (a Wednesday) to 20 Feb (a Friday): the weeks of 2, 9 and 16 February; Vera's cohort is the 9th's
    result = retention(Scope(date(2026, 2, 4), date(2026, 2, 20)), "week")
    assert result.cohorts == [date(2026, 2, 2), date(2026, 2, 9), date(2026, 2, 16)]
    table = result.table("members")
    assert table.keys == ["cohort", "members", "week_0", "week_1", "week_2"]
    assert table.rows == [[date(2026, 2, 2), 0, 0, 0, 0], [date(2026, 2, 9), 1, 1, 1, None],
                          [date(2026, 2, 16), 0, 0, None, None]]


def test_periods_are_numbered_both_ways():
    assert period_start(period_index(date(2026, 3, 17), "month"), "month") == date(2026, 3, 1)
    assert period_start(period_index(date(2026, 3, 17), "week"), "week") == date(2026, 3, 16)  # a Monday
    assert period_index(date(2026, 3, 1), "week") - period_index(date(2026, 2, 28), "week") == 0  # Sat and Sun


def test_bad_input_is_refused(people):
    with pytest.raises(ValidationFailed) as error:
        retention(Scope(date(2026, 3, 31), date(2026, 1, 1)))
    assert error.value.code == "period_reversed"
    with pytest.raises(ValidationFailed) as error:
        retention(QUARTER, "day")
    assert error.value.code == "unknown_granularity"
    with pytest.raises(ValidationFailed) as error:
        retention(QUARTER, basis="visit")
    assert error.value.code == "unknown_basis"
    with pytest.raises(ValidationFailed) as error:
        retention(QUARTER).table("ltv")
    assert error.value.code == "unknown_value"


def test_the_command_prints_the_matrix(people, capsys):
    call_command("analytics", "cohorts", "--from", "2026-01-01", "--to", "2026-03-31", "--by", "month")
    assert capsys.readouterr().out.splitlines() == ["cohort,members,month_0,month_1,month_2",
                                                    "2026-01-01,2,1.0,0.5,1.0", "2026-02-01,2,1.0,0.0,",
                                                    "2026-03-01,0,,,"]
    call_command("analytics", "cohorts", "--from", "2026-01-01", "--to", "2026-03-31", "--value", "revenue",
                 "--format", "json")
    assert json.loads(capsys.readouterr().out)[0] == {"cohort": "2026-01-01", "members": 2, "month_0": "75.00",
                                                      "month_1": "100.00", "month_2": "185.00"}


def test_the_command_refuses_a_reversed_period_and_writes_nothing(people, tmp_path):
    target = tmp_path / "cohorts.csv"
    with pytest.raises(ValidationFailed):
        call_command("analytics", "cohorts", "--from", "2026-03-31", "--to", "2026-01-01", "--output", str(target))
    assert not target.exists()
    with pytest.raises(CommandError):
        call_command("analytics", "cohorts", "--from", "2026-01-01", "--to", "2026-03-31", "--by", "day")
