"""ABC analysis: ranked by revenue, A takes the first 80 % of it, B the next 15 %, C the rest; whoever straddles a
boundary is in the upper class, equal revenue is the same class.

Members' revenue in March 2026 (Moscow days): Mila 500 (300 + 200), Nina 350, Oleg 70, Petr 50 (at 21:30 UTC on
28 Feb: 1 Mar in Moscow), Rita 30 (10 + 20) — 1000 in all. Not counted: Rita's cancelled 1000, a non-member's 5000,
Oleg's 1000 at 22:30 UTC on 31 Mar (1 Apr in Moscow). Ranked: Mila (0 above), Nina (500 above: crosses 800, so A),
Oleg (850 above: B), Petr (920 above: crosses 950, so B), Rita (970 above: C).
"""

from datetime import UTC, date, datetime
from decimal import Decimal

import numpy as np
import pytest
from django.core.management import call_command

from kopilka.analytics.data.scope import Scope
from kopilka.analytics.measures.abc import classify, goods_abc, members_abc
from kopilka.catalog import services as catalog
from kopilka.core.errors import ValidationFailed
from kopilka.customers import services as members
from kopilka.orders.models import Order
from tests.factories import stored_order

pytestmark = pytest.mark.django_db
MARCH = Scope(date(2026, 3, 1), date(2026, 3, 31))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def order(member, when: str, total: str, lines=(), status=Order.Status.COMPLETED) -> Order:
    """`lines`: (sku, quantity, amount, returned quantity)."""
    return stored_order(member, at(when), total, lines=lines, status=status)


@pytest.fixture
def base(db):
    mila, nina, oleg, petr, rita = (members.create_member(actor="t", last_name=name)
                                    for name in ("Мила", "Нина", "Олег", "Пётр", "Рита"))
    order(mila, "2026-03-02T09:00", "300")
    order(mila, "2026-03-20T09:00", "200")
    order(nina, "2026-03-10T09:00", "350")
    order(oleg, "2026-03-11T09:00", "70")
    order(oleg, "2026-03-31T22:30", "1000")
    order(petr, "2026-02-28T21:30", "50")
    order(rita, "2026-03-03T09:00", "10")
    order(rita, "2026-03-04T09:00", "20")
    order(rita, "2026-03-05T09:00", "1000", status=Order.Status.CANCELLED)
    order(None, "2026-03-06T09:00", "5000")
    return mila, nina, oleg, petr, rita


def test_the_rule_at_the_boundaries():
    assert classify(np.array([500, 350, 70, 50, 30])).tolist() == [0, 0, 1, 1, 2]
    # the second starts exactly at 80 % and the third at 95 %: neither straddles a boundary
    assert classify(np.array([80, 15, 5])).tolist() == [0, 1, 2]
    assert classify(np.array([5, 80, 15])).tolist() == [2, 0, 1]  # the order given does not matter
    assert classify(np.array([100, 100, 100, 100])).tolist() == [0, 0, 0, 0]  # equal revenue, same class
    assert classify(np.array([60, 20, 20]), Decimal(50), Decimal(30)).tolist() == [0, 1, 1]
    assert classify(np.array([], dtype=np.int64)).tolist() == []


def test_members_by_class(base):
    mila, nina, oleg, petr, rita = base
    result = members_abc(MARCH)
    assert dict(zip(result.member_id.tolist(), result.classes.tolist(), strict=True)) == {
        mila.pk: 0, nina.pk: 0, oleg.pk: 1, petr.pk: 1, rita.pk: 2}
    table = result.table()
    assert table.keys == ["class", "members", "member_share", "revenue", "revenue_share", "mean_receipt",
                          "receipts_per_member"]
    assert table.rows == [["A", 2, 0.4, Decimal("850.00"), 0.85, Decimal("283.33"), 1.5],
                          ["B", 2, 0.4, Decimal("120.00"), 0.12, Decimal("60.00"), 1.0],
                          ["C", 1, 0.2, Decimal("30.00"), 0.03, Decimal("15.00"), 2.0]]


def test_thresholds_are_configurable_and_checked(base):
    # A = the first 50 %, B = the next 40 %: Mila (0 above) A; Nina (500 above) B; Oleg (850) B; Petr, Rita C
    rows = members_abc(MARCH, Decimal(50), Decimal(40)).table().rows
    assert [(row[0], row[1], row[3]) for row in rows] == [("A", 1, Decimal("500.00")), ("B", 2, Decimal("420.00")),
                                                          ("C", 2, Decimal("80.00"))]
    for a, b in [(Decimal(0), Decimal(15)), (Decimal(90), Decimal(15)), (Decimal(80), Decimal(-1))]:
        with pytest.raises(ValidationFailed) as error:
            members_abc(MARCH, a, b)
        assert error.value.code == "abc_thresholds"


def test_an_empty_period_has_empty_classes(base):
    rows = members_abc(Scope(date(2025, 1, 1), date(2025, 1, 31))).table().rows
    assert rows == [[name, 0, None, Decimal("0.00"), None, None, None] for name in "ABC"]


@pytest.fixture
def goods(db):
    """Tea 600, coffee 200 (300 for three, one returned), cake 200, a spoon not in the catalogue 100: 1100."""
    catalog.upsert_group(code="drinks", name="Напитки")
    catalog.upsert_group(code="food", name="Еда")
    catalog.upsert_products([{"sku": "tea", "name": "Чай", "group": "drinks", "price": "300"},
                             {"sku": "coffee", "name": "Кофе", "group": "drinks", "price": "100"},
                             {"sku": "cake", "name": "Торт", "group": "food", "price": "200"}])
    buyer = members.create_member(actor="t", last_name="Покупатель")
    order(buyer, "2026-03-02T09:00", "800", [("tea", "2", "600", "0"), ("cake", "1", "200", "0")])
    order(buyer, "2026-03-03T09:00", "300", [("coffee", "3", "300", "1")])
    order(buyer, "2026-03-04T09:00", "1000", [("cake", "1", "1000", "0")], status=Order.Status.CANCELLED)
    order(None, "2026-03-05T09:00", "5000", [("tea", "10", "5000", "0")])
    order(buyer, "2026-03-06T09:00", "100", [("spoon", "1", "100", "0")])


def test_skus_by_class(goods):
    # A = 50 %, B = 30 %: tea (0 above) A; coffee and cake (600 above each, equal revenue) B; spoon (1000 above) C
    result = goods_abc(MARCH, "sku", Decimal(50), Decimal(30))
    assert result.goods_table().rows == [
        ["tea", "Чай", Decimal("600.00"), 0.5455, 0.5455, Decimal("2.000"), "A"],
        ["cake", "Торт", Decimal("200.00"), 0.1818, 0.7273, Decimal("1.000"), "B"],
        ["coffee", "Кофе", Decimal("200.00"), 0.1818, 0.9091, Decimal("2.000"), "B"],
        ["spoon", "", Decimal("100.00"), 0.0909, 1.0, Decimal("1.000"), "C"]]
    assert result.table().rows == [["A", 1, 0.25, Decimal("600.00"), 0.5455, Decimal("2.000")],
                                   ["B", 2, 0.5, Decimal("400.00"), 0.3636, Decimal("3.000")],
                                   ["C", 1, 0.25, Decimal("100.00"), 0.0909, Decimal("1.000")]]


def test_product_groups_by_class(goods):
    # 80 / 15 of 1100: drinks 800 (A), food 200 (800 above, crosses 880: A), no group 100 (1000 above: B)
    assert goods_abc(MARCH, "group").goods_table().rows == [
        ["drinks", "Напитки", Decimal("800.00"), 0.7273, 0.7273, Decimal("4.000"), "A"],
        ["food", "Еда", Decimal("200.00"), 0.1818, 0.9091, Decimal("1.000"), "A"],
        ["", "", Decimal("100.00"), 0.0909, 1.0, Decimal("1.000"), "B"]]
    with pytest.raises(ValidationFailed) as error:
        goods_abc(MARCH, "brand")
    assert error.value.code == "unknown_goods"


def test_the_command_lists_goods(goods, capsys):
    call_command("analytics", "abc", "--from", "2026-03-01", "--to", "2026-03-31", "--by", "sku", "--list",
                 "--class-a", "50", "--class-b", "30")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "key,name,revenue,revenue_share,running_share,quantity,class"
    assert lines[1:] == ["tea,Чай,600.00,0.5455,0.5455,2.000,A", "cake,Торт,200.00,0.1818,0.7273,1.000,B",
                         "coffee,Кофе,200.00,0.1818,0.9091,2.000,B", "spoon,,100.00,0.0909,1.0,1.000,C"]
    with pytest.raises(ValidationFailed) as error:
        call_command("analytics", "abc", "--from", "2026-03-01", "--to", "2026-03-31", "--list")
    assert error.value.code == "list_needs_goods"


def test_the_command(base, capsys, tmp_path):
    call_command("analytics", "abc", "--from", "2026-03-01", "--to", "2026-03-31")
    assert capsys.readouterr().out.splitlines() == [
        "class,members,member_share,revenue,revenue_share,mean_receipt,receipts_per_member",
        "A,2,0.4,850.00,0.85,283.33,1.5", "B,2,0.4,120.00,0.12,60.00,1.0", "C,1,0.2,30.00,0.03,15.00,2.0"]
    target = tmp_path / "abc.csv"
    with pytest.raises(ValidationFailed):
        call_command("analytics", "abc", "--from", "2026-03-31", "--to", "2026-03-01", "--output", str(target))
    with pytest.raises(ValidationFailed):
        call_command("analytics", "abc", "--from", "2026-03-01", "--to", "2026-03-31", "--class-a", "90",
                     "--output", str(target))
    assert not target.exists()
