"""Cuts of points and sales by period and segment (SPEC §7.2) on conftest.py's programme."""

import json
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import translation

from kopilka.analytics.data.scope import Scope
from kopilka.analytics.measures.cuts import periods, points, sales
from kopilka.catalog.services import upsert_group, upsert_products
from kopilka.core.errors import ValidationFailed
from kopilka.ledger import services as ledger
from kopilka.orders.models import OrderPoints
from tests.analytics.programmes import MARCH, at, buy

D = date.fromisoformat


def test_points_by_month_and_by_region(march):
    assert points(Scope(*MARCH)).rows == [[D("2026-03-01"), "—", 100, 30, 50]]
    assert points(Scope(*MARCH), "month", "region").rows == [
        [D("2026-03-01"), "Москва", 100, 30, 0], [D("2026-03-01"), "Санкт-Петербург", 0, 0, 50]]


def test_sales_by_week_start_on_monday_in_the_programme_time_zone(march):
    buy(march["vera"], at("2026-03-15", 22), "300")  # Sunday 22:00 UTC is Monday 16 March in Moscow
    assert sales(Scope(*MARCH), "week").rows == [
        [D("2026-03-02"), "—", 1, 2, Decimal("2500.00")],
        [D("2026-03-09"), "—", 1, 1, Decimal("700.00")],
        [D("2026-03-16"), "—", 2, 2, Decimal("1800.00")],
    ]


def test_members_against_non_members_and_a_filter(march):
    with translation.override("en"):
        membership = sales(Scope(*MARCH), "month", "membership").rows
    assert [row[1:] for row in membership] == [
        ["members", 2, 4, Decimal("4700.00")], ["non-members", 0, 2, Decimal("1000.00")]]
    only_site = sales(Scope(*MARCH, source="site"), "day", "source").rows
    assert [(row[0], row[1], row[4]) for row in only_site] == [
        (D("2026-03-05"), "site", Decimal("2500.00")), (D("2026-03-10"), "site", Decimal("700.00")),
        (D("2026-03-20"), "site", Decimal("1500.00"))]


def test_points_by_campaign_and_by_product_group(march):
    upsert_group(code="fillers", name="Филлеры")
    upsert_group(code="ha", name="Гиалуроновые", parent="fillers")
    upsert_group(code="care", name="Уход")
    upsert_products([{"sku": "SKU-1", "name": "Филлер", "price": "100", "group": "ha"},
                     {"sku": "SKU-2", "name": "Крем", "price": "50", "group": "care"}])
    order = buy(march["anna"], at("2026-03-25"), "150", lines=[("1", "100", "0"), ("1", "50", "0")])
    entry = ledger.accrue(member_id=march["anna"].pk, points=15, actor="t", idempotency_key="c1", at=at("2026-03-25"))
    OrderPoints.objects.create(order=order, entry=entry, kind="earn", campaign="spring:v2", points=15,
                               by_line={"1": 10, "2": 5}, created_at=at("2026-03-25"))
    by_campaign = {row[1]: row[2:] for row in points(Scope(*MARCH), "month", "campaign").rows}
    assert by_campaign == {"spring": [15, 0, 0], "—": [100, 30, 50]}
    by_group = {row[1]: row[2:] for row in points(Scope(*MARCH), "month", "group").rows}
    assert by_group == {"Филлеры": [10, 0, 0], "Уход": [5, 0, 0]}
    revenue = {row[1]: row[4] for row in sales(Scope(D("2026-03-25"), D("2026-03-25")), "day", "group").rows}
    assert revenue == {"Филлеры": Decimal("100.00"), "Уход": Decimal("50.00")}


def test_unknown_period_or_segment_is_refused(march):
    with pytest.raises(ValidationFailed):
        points(Scope(*MARCH), "year")
    with pytest.raises(ValidationFailed):
        sales(Scope(*MARCH), "month", "campaign")


def test_the_commands_print_the_cuts(march, capsys):
    call_command("analytics", "points", "--from", "2026-03-01", "--to", "2026-03-31", "--segment", "region",
                 "--format", "json")
    assert json.loads(capsys.readouterr().out)[1] == {"period": "2026-03-01", "segment": "Санкт-Петербург",
                                                      "accrued": 0, "spent": 0, "burned": 50}
    call_command("analytics", "sales", "--from", "2026-03-01", "--to", "2026-03-31", "--by", "week")
    assert capsys.readouterr().out.splitlines()[1] == "2026-03-02,—,1,2,2500.00"


def test_periods_cover_the_scope_from_the_start_of_their_period():
    assert periods(Scope(D("2026-03-01"), D("2026-03-03")), "day") == [D("2026-03-01"), D("2026-03-02"),
                                                                     D("2026-03-03")]
    assert periods(Scope(D("2026-03-01"), D("2026-03-16")), "week") == [D("2026-02-23"), D("2026-03-02"),
                                                                      D("2026-03-09"), D("2026-03-16")]
    assert periods(Scope(D("2025-12-15"), D("2026-02-01")), "month") == [D("2025-12-01"), D("2026-01-01"),
                                                                       D("2026-02-01")]
