"""A marketer plans the month in a real browser: opens an existing mechanic of the month, changes its budget, saves
and sees it again on the month's page beside its fact — the segment's conversion, the heat map of purchases by
weekday and hour — and a fourth mechanic cannot be added. In Russian and English."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import expect

from kopilka.backoffice.roles import MARKETER, sync_roles
from kopilka.communications.monthly_plan.models import PlanMechanic
from kopilka.communications.monthly_plan.services import save_mechanic
from kopilka.core import clock
from kopilka.customers import services as members
from kopilka.customers.models import Member
from tests.analytics.programmes import buy

PASSWORD = "a-long-browser-password-12"
WORDS = {"ru-RU": ("Бюджет, ₽", "Сохранить", "Добавить механику"),
         "en-US": ("Budget, ₽", "Save", "Add a mechanic")}


@pytest.mark.parametrize("locale", ["ru-RU", "en-US"])
def test_a_marketer_changes_a_mechanics_budget_and_reads_plan_against_fact(page_in, shot, locale):
    sync_roles()
    marketer = User.objects.create_user("maria", password=PASSWORD, is_staff=True)
    marketer.groups.set([Group.objects.get(name=MARKETER)])
    month = clock.local_date(clock.now()).replace(day=1)
    start = clock.start_of_day(month)
    anna, _boris = (members.create_member(actor="t", last_name=name) for name in ("Иванова", "Петров"))
    Member.objects.update(registered_at=start - timedelta(days=30))
    buy(anna, start + timedelta(minutes=30), "1000")  # the month's first hour
    for position in (1, 2, 3):
        save_mechanic(month=month, actor="t", title=f"Механика {position}", goal="Вернуть ушедших", conditions=None,
                      kind="text", campaign=None, mailing=None, description="Письмо", communication="e-mail",
                      budget=Decimal("10000.00"), budget_used_entered=None, target_conversion=Decimal(5))
    budget, save, add = WORDS[locale]
    code = f"{month:%Y-%m}"

    page = page_in(locale)
    page.goto(f"/admin/login/?next=/office/plan/{code}/")
    page.fill("#id_username", "maria")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"**/office/plan/{code}/")
    expect(page.get_by_role("link", name=add)).to_have_count(0)  # three already
    page.get_by_role("link", name="Механика 2").click()
    page.wait_for_url(f"**/office/plan/{code}/2/")
    expect(page.get_by_label(budget)).to_have_value("10000.00")
    page.get_by_label(budget).fill("12500.50")
    page.get_by_role("button", name=save).click()
    page.wait_for_url(f"**/office/plan/{code}/")

    row = page.locator("tr[data-mechanic='2']")
    expect(row.locator("[data-fact=members]")).to_have_text("2")
    expect(row.locator("[data-fact=conversion]")).to_contain_text("1 · 50")
    expect(row).to_contain_text("12500,50" if locale == "ru-RU" else "12500.50")
    heat = page.get_by_test_id("heatmap")
    local = start + timedelta(minutes=30)
    cell = heat.locator("tbody tr").nth(local.astimezone(clock.programme_tz()).weekday()).locator("td").nth(
        local.astimezone(clock.programme_tz()).hour)
    expect(cell).to_have_text("1")
    shot(page, "plan")
    page.goto(f"/office/plan/{code}/2/")
    expect(page.get_by_label(budget)).to_have_value("12500.50")
    assert PlanMechanic.objects.get(month=month, position=2).budget == Decimal("12500.50")
