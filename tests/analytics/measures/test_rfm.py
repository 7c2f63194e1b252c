"""The RFM summary follows the BTYD definitions (those of `lifetimes.utils.summary_data_from_transaction_data`):
same-day purchases are one, frequency counts repeat purchases, recency and T in the unit asked, monetary value is
the mean of the repeat purchases; the programme's day decides what "the same day" is."""

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.management import call_command

from kopilka.analytics.measures.rfm import summary
from kopilka.customers import services as members
from kopilka.customers.models import ExternalId
from kopilka.orders.models import Order
from tests.factories import stored_order

pytestmark = pytest.mark.django_db
AS_OF = date(2026, 2, 10)


def order(member, at: datetime, total: str, status=Order.Status.COMPLETED):
    return stored_order(member, at, total, status=status)


@pytest.fixture
def people(db):
    anna = members.create_member(actor="t", last_name="Анна")
    ExternalId.objects.create(member=anna, system="customer", value="C-17")
    order(anna, datetime(2026, 1, 1, 10, tzinfo=UTC), "100")
    order(anna, datetime(2026, 1, 1, 15, tzinfo=UTC), "50")  # the same day: one purchase of 150
    order(anna, datetime(2026, 1, 11, 9, tzinfo=UTC), "200")
    order(anna, datetime(2026, 1, 30, 22, 30, tzinfo=UTC), "100")  # 31 January in Moscow
    order(anna, datetime(2026, 2, 5, 9, tzinfo=UTC), "999", status=Order.Status.CANCELLED)  # not counted
    order(anna, datetime(2026, 2, 10, 21, 30, tzinfo=UTC), "70")  # 11 February in Moscow: after the as-of date
    boris = members.create_member(actor="t", last_name="Борис")
    order(boris, datetime(2026, 2, 1, 12, tzinfo=UTC), "500")
    Order.objects.create(member=None, source="pos", external_id="anon", purchased_at=datetime(2026, 1, 5, tzinfo=UTC),
                         total=Decimal("10"), status=Order.Status.COMPLETED)
    members.create_member(actor="t", last_name="Без покупок")
    return anna, boris


def test_the_summary_follows_the_btyd_definitions(people):
    anna, boris = people
    rows = {s.member_id: s for s in summary(AS_OF)}
    assert set(rows) == {anna.pk, boris.pk}
    a = rows[anna.pk]
    assert (a.customer_id, a.frequency, a.recency, a.T, a.monetary_value) == ("C-17", 2, 30.0, 40.0, Decimal("150.00"))
    b = rows[boris.pk]
    assert (b.customer_id, b.frequency, b.recency, b.T, b.monetary_value) == (str(boris.pk), 0, 0.0, 9.0,
                                                                              Decimal("0.00"))


def test_weeks_and_months_are_fractional(people):
    anna, _ = people
    week = {s.member_id: s for s in summary(AS_OF, "week")}[anna.pk]
    month = {s.member_id: s for s in summary(AS_OF, "month")}[anna.pk]
    assert (week.recency, week.T) == pytest.approx((30 / 7, 40 / 7))
    assert (month.recency, month.T) == pytest.approx((1.0, 40 / 30))


def test_the_command_prints_csv_and_json(people, capsys):
    call_command("analytics", "rfm", "--as-of", "2026-02-10", "--unit", "day", "--format", "csv")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "customer_id,frequency,recency,T,monetary_value,r,f,m,segment"
    assert any(line.startswith("C-17,2,30.0,40.0,150.00,") for line in lines)
    call_command("analytics", "rfm", "--as-of", "2026-02-10", "--format", "json")
    rows = json.loads(capsys.readouterr().out)
    c17 = next(row for row in rows if row["customer_id"] == "C-17")
    assert {"customer_id": "C-17", "frequency": 2, "recency": 30.0, "T": 40.0, "monetary_value": "150.00"}.items() <= (
        c17.items())


def test_a_purchase_is_worth_the_exact_sum_of_its_receipts_where_a_float_sum_loses_a_kopeck(db):
    """A repeat purchase of 22 receipts of 999 999 999 999.99: summed as floats (SQLite's REAL),
    21 999 999 999 999.77; in kopecks, .78."""
    wholesaler = members.create_member(actor="t", last_name="Опт")
    order(wholesaler, datetime(2026, 1, 10, 9, tzinfo=UTC), "1")
    for minute in range(22):
        order(wholesaler, datetime(2026, 2, 1, 9, minute, tzinfo=UTC), "999999999999.99")

    (found,) = summary(AS_OF)

    assert (found.frequency, found.monetary_value) == (1, Decimal("21999999999999.78"))
