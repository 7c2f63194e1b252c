"""Growth levers: revenue = members × purchases per member × items per receipt × price per item; +20 % of revenue
takes +20 % of one lever alone, or 1.2^(1/4) − 1 ≈ 4.66 % of each of the four.

March 2026 (Moscow days): Mila has two receipts — 300 for 2 items (at 21:30 UTC on 28 Feb: 1 Mar in Moscow) and
300 for 1 + 3 items of which 1 was returned (the total stays 300) — and Nina one of 400 for 1 item. Not counted:
Nina's cancelled 1000 for 10 items, a non-member's 500 for 5, Mila's 700 at 22:30 UTC on 31 Mar (1 Apr in Moscow).
So revenue 1000, members 2, receipts 3 (1.5 per member), items 6 (2 per receipt), price per item 1000 / 6.
"""

import os
import subprocess
import sys
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from kopilka.analytics.data.scope import Scope
from kopilka.analytics.measures.levers import levers
from kopilka.core.errors import ValidationFailed
from kopilka.customers import services as members
from kopilka.orders.models import Order
from tests.factories import stored_order

pytestmark = pytest.mark.django_db
MARCH = Scope(date(2026, 3, 1), date(2026, 3, 31))
CENT = Decimal("0.01")


def order(member, when: str, lines, status=Order.Status.COMPLETED) -> Order:
    """`lines`: (quantity, amount, returned quantity); the total is the sum of the amounts."""
    return stored_order(member, datetime.fromisoformat(when).replace(tzinfo=UTC),
                        sum(Decimal(amount) for _, amount, _ in lines), status=status,
                        lines=[(f"S-{n}", *line) for n, line in enumerate(lines, start=1)])


@pytest.fixture
def march(db):
    mila, nina = members.create_member(actor="t", last_name="Мила"), members.create_member(actor="t", last_name="Нина")
    order(mila, "2026-02-28T21:30", [("2", "300", "0")])
    order(mila, "2026-03-12T09:00", [("1", "100", "0"), ("3", "200", "1")])
    order(mila, "2026-03-31T22:30", [("7", "700", "0")])
    order(nina, "2026-03-15T09:00", [("1", "400", "0")])
    order(nina, "2026-03-16T09:00", [("10", "1000", "0")], status=Order.Status.CANCELLED)
    order(None, "2026-03-17T09:00", [("5", "500", "0")])


def test_the_four_levers_multiply_to_the_revenue(march):
    result = levers(MARCH)
    assert (result.revenue, result.members, result.receipts, result.items) == (Decimal("1000.00"), 2, 3,
                                                                              Decimal("6.000"))
    assert (result.purchases_per_member, result.items_per_receipt) == (Decimal("1.5"), Decimal(2))
    assert result.price_per_item.quantize(CENT) == Decimal("166.67")
    assert result.mean_receipt.quantize(CENT) == Decimal("333.33")
    product = Decimal(1)
    for value in result.current().values():
        product *= value
    assert product.quantize(CENT) == result.revenue


def test_twenty_percent_alone_or_evenly(march):
    result = levers(MARCH)
    with translation.override("en"):
        rows = result.table().rows
    assert rows == [
        ["revenue", "revenue", Decimal("1000.00"), Decimal("1200.00"), Decimal("200.00"), Decimal("1200.00"),
         Decimal("200.00"), Decimal("20.00"), Decimal("20.00")],
        ["members", "members", 2, Decimal("2.40"), Decimal("0.40"), Decimal("2.09"), Decimal("0.09"),
         Decimal("20.00"), Decimal("4.66")],
        ["purchases_per_member", "purchases per member", Decimal("1.5000"), Decimal("1.8000"), Decimal("0.3000"),
         Decimal("1.5700"), Decimal("0.0700"), Decimal("20.00"), Decimal("4.66")],
        ["items_per_receipt", "items per receipt", Decimal("2.0000"), Decimal("2.4000"), Decimal("0.4000"),
         Decimal("2.0933"), Decimal("0.0933"), Decimal("20.00"), Decimal("4.66")],
        ["price_per_item", "price per item", Decimal("166.67"), Decimal("200.00"), Decimal("33.33"),
         Decimal("174.44"), Decimal("7.77"), Decimal("20.00"), Decimal("4.66")]]
    for moved in (result.even(), *({**result.current(), key: value} for key, value in result.alone().items())):
        product = Decimal(1)
        for value in moved.values():
            product *= value
        assert product.quantize(CENT) == Decimal("1200.00")


def test_a_fall_is_a_negative_target(march):
    result = levers(MARCH, Decimal(-20))
    assert result.growth == Decimal("0.8")
    assert ((result.even_growth - 1) * 100).quantize(CENT) == Decimal("-5.43")
    assert result.table().rows[0][3] == Decimal("800.00")


def test_bad_input_is_refused(march):
    with pytest.raises(ValidationFailed) as error:
        levers(MARCH, Decimal(-100))
    assert error.value.code == "target_out_of_range"
    with pytest.raises(ValidationFailed) as error:
        levers(Scope(date(2026, 3, 31), date(2026, 3, 1)))
    assert error.value.code == "period_reversed"
    with pytest.raises(ValidationFailed) as error:
        levers(Scope(date(2025, 3, 1), date(2025, 3, 31)))
    assert error.value.code == "no_purchases"
    assert levers(MARCH, Decimal("-99.99")).even_growth == Decimal("0.1")  # just above -100 % is a target


def test_the_command(march, capsys, tmp_path):
    call_command("analytics", "levers", "--from", "2026-03-01", "--to", "2026-03-31", "--target", "20")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "lever,name,current,alone,alone_change,even,even_change,alone_percent,even_percent"
    assert lines[2].split(",")[2:] == ["2", "2.40", "0.40", "2.09", "0.09", "20.00", "4.66"]
    target = tmp_path / "levers.csv"
    with pytest.raises(ValidationFailed):
        call_command("analytics", "levers", "--from", "2026-03-01", "--to", "2026-03-31", "--target=-100",
                     "--output", str(target))
    with pytest.raises(CommandError):
        call_command("analytics", "levers", "--from", "2026-03-01", "--to", "2026-03-31", "--target", "lots")
    assert not target.exists()


def test_on_the_command_line_a_refused_target_is_a_message(tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "kopilka.settings",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}"}
    done = subprocess.run([sys.executable, "-m", "django", "analytics", "levers", "--from", "2026-03-01", "--to",
                           "2026-03-31", "--target", "-100"], env=env, capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout) == (2, "")
    assert len(done.stderr.strip().splitlines()) == 1 and "100" in done.stderr  # the message, no traceback
    assert not (tmp_path / "empty.sqlite3").exists()  # refused before the database was opened


def test_revenue_and_items_are_exact_sums_where_float_sums_lose_a_unit(db):
    """Summed as floats (SQLite's REAL), 22 receipts of 999 999 999 999.99 come to 21 999 999 999 999.77 and 147
    receipts of 999 999 999.999 items to 146 999 999 999.852; summed in kopecks and thousandths, .78 and .853."""
    wholesaler = members.create_member(actor="t", last_name="Опт")
    fitter = members.create_member(actor="t", last_name="Монтаж")
    for hour in range(22):
        order(wholesaler, f"2026-03-12T{hour:02}:00", [("1", "999999999999.99", "0")])
    for minute in range(147):
        order(fitter, f"2026-03-13T{minute // 60:02}:{minute % 60:02}", [("999999999.999", "1", "0")])

    result = levers(MARCH)

    assert (result.revenue, result.items, result.receipts) == (
        Decimal("21999999999999.78") + 147, Decimal("146999999999.853") + 22, 169)
