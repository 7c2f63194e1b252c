"""A marketer plans the month in a real browser: opens an existing mechanic of the month, changes its budget, saves
and sees it again on the month's page beside its fact — the segment's conversion, the heat map of purchases by
weekday and hour — and a fourth mechanic cannot be added; switches an existing mechanic's link from a mailing to a
live trigger journey (a draft one is not offered), saves and sees the journey linked on the month's page and on the
mechanic's. In Russian and English."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import expect

from kopilka.backoffice.roles import MARKETER, sync_roles
from kopilka.communications.journeys.services import create_journey, move_journey
from kopilka.communications.mailings import services as mailings
from kopilka.communications.message_templates import save_template
from kopilka.communications.monthly_plan.models import PlanMechanic
from kopilka.communications.monthly_plan.services import save_mechanic
from kopilka.core import clock
from kopilka.customers import services as members
from kopilka.customers.models import Member
from tests.analytics.programmes import buy

PASSWORD = "a-long-browser-password-12"
WORDS = {"ru-RU": ("Бюджет, ₽", "Сохранить", "Добавить механику"),
         "en-US": ("Budget, ₽", "Save", "Add a mechanic")}
LINK_WORDS = {"ru-RU": {"kind": "Тип", "journey": "Сценарий", "save": "Сохранить", "shown": "триггерный сценарий: "},
              "en-US": {"kind": "Kind", "journey": "Journey", "save": "Save", "shown": "a trigger journey: "}}
PAUSE = {"start": "pause", "steps": {"pause": {"kind": "wait", "days": 1}}}


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
                      kind="text", campaign=None, mailing=None, journey=None, description="Письмо",
                      communication="e-mail", budget=Decimal("10000.00"), budget_used_entered=None,
                      target_conversion=Decimal(5))
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


@pytest.mark.parametrize("locale", ["ru-RU", "en-US"])
def test_a_marketer_switches_a_mechanics_link_from_a_mailing_to_a_live_journey(page_in, shot, locale):
    words = LINK_WORDS[locale]
    month = clock.local_date(clock.now()).replace(day=1)
    code = f"{month:%Y-%m}"
    save_template(code="spring", actor="t", name="Весна", channel="email", purpose="marketing", subject_ru="Весна",
                  body_ru="Скидки весной")
    spring = mailings.save_mailing(actor="t", name="Весенняя рассылка", channel="email", conditions=None,
                                   holdout_percent=Decimal(0), rate_per_minute=None, attribution_days=7,
                                   variants=[mailings.Variant("spring", 100)])
    for journey_code, name in (("sleepers", "Спящие"), ("resting", "На паузе"), ("drafty", "Черновик")):
        create_journey(code=journey_code, name=name, trigger={"kind": "event", "event": "order.paid"}, graph=PAUSE,
                       actor="t")
    for journey_code, action in (("sleepers", "start"), ("resting", "start"), ("resting", "pause")):
        move_journey(journey_code, action, actor="t")
    save_mechanic(month=month, actor="t", title="Вернуть спящих", goal="Вернуть ушедших", conditions=None,
                  kind="mailing", campaign=None, mailing=spring, journey=None, description="", communication="e-mail",
                  budget=Decimal("5000.00"), budget_used_entered=None, target_conversion=Decimal(3))

    sync_roles()
    marketer = User.objects.create_user("maria", password=PASSWORD, is_staff=True)
    marketer.groups.set([Group.objects.get(name=MARKETER)])

    page = page_in(locale)
    page.goto(f"/admin/login/?next=/office/plan/{code}/")
    page.fill("#id_username", "maria")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"**/office/plan/{code}/")
    expect(page.locator("tr[data-mechanic='1']")).to_contain_text("Весенняя рассылка")
    page.get_by_role("link", name="Вернуть спящих").click()
    page.wait_for_url(f"**/office/plan/{code}/1/")
    link = page.get_by_label(words["journey"], exact=True)
    # the blank choice, the paused journey and the live one; never the draft
    expect(link.locator("option")).to_have_text(["---------", "resting — На паузе", "sleepers — Спящие"])
    page.get_by_label(words["kind"], exact=True).select_option("journey")
    link.select_option("sleepers")
    page.get_by_role("button", name=words["save"]).click()
    page.wait_for_url(f"**/office/plan/{code}/")

    row = page.locator("tr[data-mechanic='1']")
    expect(row).to_contain_text(words["shown"] + "Спящие")
    expect(row.get_by_role("link", name="Спящие")).to_have_attribute("href", "/office/journeys/sleepers/")
    expect(row.locator("[data-fact=sent]")).to_have_text("0")
    shot(page, "plan with a journey")
    page.goto(f"/office/plan/{code}/1/")
    expect(page.get_by_label(words["kind"], exact=True)).to_have_value("journey")
    expect(page.get_by_label(words["journey"], exact=True)).to_have_value("sleepers")
    saved = PlanMechanic.objects.get(month=month, position=1)
    assert (saved.kind, saved.journey.code, saved.mailing_id) == ("journey", "sleepers", None)
