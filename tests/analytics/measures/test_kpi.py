"""The KPI set of SPEC §7.1 on the hand-worked programme of conftest.py (March 2026)."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command

from kopilka.analytics.data import together
from kopilka.analytics.data.scope import Scope
from kopilka.analytics.measures.kpi import compute
from kopilka.core.errors import ValidationFailed
from kopilka.ledger.selectors import utilization
from tests.analytics.programmes import MARCH, at, buy
from tests.core.marks import transactional_db


def values(scope: Scope) -> dict:
    return {kpi.code: kpi.value for kpi in compute(scope).kpis}


def test_every_kpi_of_march(march):
    assert values(Scope(*MARCH)) == EXPECTED


@pytest.mark.postgres
@transactional_db
def test_outside_a_transaction_the_reads_run_side_by_side_with_the_same_answers(march, monkeypatch):
    threads = []
    monkeypatch.setattr(together, "_on_own_connection", lambda f: (threads.append(f), f)[1])
    assert values(Scope(*MARCH)) == EXPECTED
    assert len(threads) == 5  # facts, sales, members, points and balances, each on its own connection


EXPECTED = {
    "members": 4, "new_members": 2, "buyers": 2, "new_buyers": 1, "repeat_buyers": 1,
    "retention": 0.5, "churn": 0.5, "ltv": Decimal("2900.00"),
    "average_receipt": Decimal("1175.00"), "average_receipt_non_members": Decimal("500.00"),
    "items_per_receipt": 1.5, "price_per_item": Decimal("783.33"), "purchase_frequency": 1.5,
    "revenue_per_buyer": Decimal("2350.00"), "revenue_per_member": Decimal("1175.00"),
    "accrued": 100, "spent": 30, "burned": 50, "utilization_rate": 0.3, "limiting_ur": 0.5,
    "redemption_rate": 0.25, "real_discount": 0.0426, "members_share_of_sales": 0.8246,
    "liability_points": 70, "liability_money": Decimal("70.00"),
}


def test_points_agree_with_the_ledgers_utilization(march):
    kpis = compute(Scope(*MARCH))
    ledger = utilization(at("2026-02-28", 21), at("2026-03-31", 21))  # March in Moscow
    assert (kpis["accrued"].value, kpis["spent"].value, kpis["burned"].value) == (
        ledger.accrued, ledger.spent, ledger.burned)


def test_new_members_by_source_and_members_against_non_members(march):
    kpis = compute(Scope(*MARCH))
    assert kpis.new_members_by_source == {"pos": 1, "site": 1}
    assert [{**row, "name": None} for row in kpis.comparison_table().records()] == [
        {"who": "members", "name": None, "receipts": 4, "revenue": "4700.00", "average_receipt": "1175.00",
         "share_of_sales": 0.8246},
        {"who": "non_members", "name": None, "receipts": 2, "revenue": "1000.00", "average_receipt": "500.00",
         "share_of_sales": 0.1754},
    ]


def test_filters_narrow_the_members_but_not_the_non_members(march):
    moscow = values(Scope(*MARCH, region="77"))
    assert (moscow["members"], moscow["buyers"], moscow["ltv"], moscow["retention"]) == (2, 2, Decimal("2850.00"), 1.0)
    assert (moscow["burned"], moscow["average_receipt_non_members"]) == (0, Decimal("500.00"))
    pos = values(Scope(*MARCH, source="pos"))
    assert (pos["members"], pos["buyers"], pos["churn"], pos["burned"]) == (2, 0, 1.0, 50)
    assert pos["average_receipt"] is None  # no receipts: not defined rather than zero


def test_every_kpi_carries_its_definition(march):
    for kpi in compute(Scope(*MARCH)).kpis:
        assert str(kpi.label) and len(str(kpi.definition)) > 20


def test_a_reversed_period_is_refused():
    with pytest.raises(ValidationFailed) as error:
        Scope(date(2026, 3, 31), date(2026, 3, 1))
    assert error.value.code == "period_reversed"


def test_the_kpi_command_prints_csv_and_refuses_a_reversed_period(march, capsys):
    call_command("analytics", "kpi", "--from", "2026-03-01", "--to", "2026-03-31", "--region", "77")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "code,kpi,value,unit,definition"
    assert any(line.startswith("buyers,") and ",2,count," in line for line in lines)
    with pytest.raises(ValidationFailed):
        call_command("analytics", "kpi", "--from", "2026-03-31", "--to", "2026-03-01")


LARGEST = "999999999999.99"  # the largest total a receipt holds


@pytest.mark.django_db
def test_revenue_is_the_exact_sum_of_the_receipts_where_a_float_sum_loses_a_kopeck():
    """22 receipts of 999 999 999 999.99: summed as floats (SQLite's REAL), 21 999 999 999 999.77; in kopecks, .78."""
    for hour in range(22):
        buy(None, at("2026-03-12", hour), LARGEST)

    non_members = compute(Scope(*MARCH)).comparison_table().records()[1]

    assert (non_members["receipts"], non_members["revenue"], non_members["average_receipt"]) == (
        22, "21999999999999.78", LARGEST)
