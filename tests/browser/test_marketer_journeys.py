"""A marketer works with trigger journeys in a real browser: makes the Anna journey from its template in one click,
opens a live journey with a member inside, sees the flow with the members waiting at each step, changes one thing
(the wait's days), saves, and sees the new version — while the member inside stays on the version they entered;
changes a journey's attribution window and reads its results against the held-out members. In Russian and
English."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import expect

from kopilka.backoffice.roles import MARKETER, sync_roles
from kopilka.communications.journeys.blueprints import create_from_blueprint
from kopilka.communications.journeys.models import Journey, JourneyState
from kopilka.communications.journeys.run import run_journeys
from kopilka.communications.journeys.services import change_journey, move_journey
from kopilka.core import clock
from kopilka.core.models import ProgrammeSettings
from tests import factories
from tests.analytics.programmes import buy

PASSWORD = "a-long-browser-password-11"
WORDS = {"ru-RU": {"new": "Новый сценарий", "code": "Код", "create": "Создать", "days": "Дней", "save": "Сохранить",
                   "waiting": "ждут 1", "saved": "сохранён как версия 2"},
         "en-US": {"new": "New journey", "code": "Code", "create": "Create", "days": "Days", "save": "Save",
                   "waiting": "waiting 1", "saved": "saved as version 2"}}


@pytest.mark.parametrize("locale", ["ru-RU", "en-US"])
def test_a_marketer_makes_anna_and_changes_a_live_journeys_wait_into_a_new_version(page_in, shot, locale):
    words = WORDS[locale]
    sync_roles()
    marketer = User.objects.create_user("maria", password=PASSWORD, is_staff=True)
    marketer.groups.set([Group.objects.get(name=MARKETER)])
    ProgrammeSettings.objects.create(pk=ProgrammeSettings.SINGLETON, public_url="https://bonus.example.ru")
    anna = factories.member("Иванова", first_name="Анна", email="anna@example.ru")
    buy(anna, clock.now() - timedelta(days=100), "14900")
    create_from_blueprint("anna", code="sleepers", actor="t")
    move_journey("sleepers", "start", actor="t")
    run_journeys()  # Anna enters, is sent the reminder and waits three days

    page = page_in(locale)
    page.goto("/admin/login/?next=/office/journeys/")
    page.fill("#id_username", "maria")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/office/journeys/")

    page.get_by_role("link", name=words["new"]).click()
    page.get_by_label(words["code"]).fill("anna-2")
    page.get_by_role("button", name=words["create"]).click()
    page.wait_for_url("**/office/journeys/anna-2/")
    expect(page.locator("g.flow-step")).to_have_count(5)
    assert Journey.objects.get(code="anna-2").status == "draft"

    page.goto("/office/journeys/")
    page.get_by_role("link", name="sleepers").click()
    page.wait_for_url("**/office/journeys/sleepers/")
    expect(page.locator("g.flow-step[data-step=wait]")).to_contain_text(words["waiting"])
    expect(page.locator("#journey-version")).to_have_text("1")
    wait_days = page.locator("fieldset[data-step=wait]").get_by_label(words["days"], exact=True)
    expect(wait_days).to_have_value("3")
    shot(page, "flow")

    wait_days.fill("5")
    page.get_by_role("button", name=words["save"]).click()
    expect(page.locator(".message")).to_contain_text(words["saved"])
    page.reload()
    expect(page.locator("#journey-version")).to_have_text("2")
    expect(page.locator("fieldset[data-step=wait]").get_by_label(words["days"], exact=True)).to_have_value("5")
    shot(page, "new version")
    assert JourneyState.objects.get(member=anna).version.number == 1
    assert Journey.objects.get(code="sleepers").current_version().graph["steps"]["wait"]["days"] == 5


RESULTS = {"ru-RU": {"window": "Окно атрибуции, дней", "save": "Сохранить", "saved": "сохранён",
                     "results": "Результаты: конверсия", "compared": "Получившие предложение и контрольная группа",
                     "held": "контрольная группа", "within": "в течение 7 дней"},
           "en-US": {"window": "Attribution window, days", "save": "Save", "saved": "saved",
                     "results": "Results: conversion", "compared": "Exposed vs held out", "held": "held out",
                     "within": "within 7 days"}}


@pytest.mark.parametrize("locale", ["ru-RU", "en-US"])
def test_a_marketer_changes_a_journeys_attribution_window_and_reads_its_results(page_in, shot, locale):
    words = RESULTS[locale]
    sync_roles()
    marketer = User.objects.create_user("maria", password=PASSWORD, is_staff=True)
    marketer.groups.set([Group.objects.get(name=MARKETER)])
    ProgrammeSettings.objects.create(pk=ProgrammeSettings.SINGLETON, public_url="https://bonus.example.ru")
    sleepers = [factories.member("Иванова", first_name=f"Анна {n}", email=f"anna{n}@example.ru") for n in range(30)]
    for who in sleepers:
        buy(who, clock.now() - timedelta(days=100), "14900")
    create_from_blueprint("anna", code="sleepers", actor="t")
    change_journey("sleepers", holdout_percent="30", actor="t")
    move_journey("sleepers", "start", actor="t")
    run_journeys()
    held = JourneyState.objects.filter(journey__code="sleepers", status="held_out").select_related("member").first()
    assert held is not None
    buy(held.member, clock.now(), "1200")  # after entering: a conversion of the held out

    page = page_in(locale)
    page.goto("/admin/login/?next=/office/journeys/sleepers/")
    page.fill("#id_username", "maria")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/office/journeys/sleepers/")
    window = page.get_by_label(words["window"])
    expect(window).to_have_value("14")
    window.fill("7")
    page.get_by_role("button", name=words["save"]).click()
    expect(page.locator(".message")).to_contain_text(words["saved"])
    page.reload()
    expect(page.get_by_label(words["window"])).to_have_value("7")
    assert Journey.objects.get(code="sleepers").attribution_days == 7

    page.get_by_role("link", name=words["results"]).click()
    page.wait_for_url("**/office/journeys/sleepers/results/")
    expect(page.locator("[data-testid=window]")).to_contain_text(words["within"])
    expect(page.get_by_role("heading", name=words["compared"])).to_be_visible()
    expect(page.locator("figure[data-chart=conversion] svg")).to_be_visible()
    held_row = page.locator("[data-testid=groups] tbody tr").last
    expect(held_row).to_contain_text(words["held"])
    expect(held_row.locator("td").nth(1)).to_have_text("1")  # bought: the one held-out purchase
    shot(page, "results")
