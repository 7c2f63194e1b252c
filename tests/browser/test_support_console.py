"""A support agent and a senior agent at work in a real browser: find a member, grant compensation within the
limit; above it the grant waits, and the senior approves it. Screenshots of each step are kept."""

import re

from django.contrib.auth.models import Group, User
from playwright.sync_api import expect

from kopilka.backoffice.models import CompensationLimit
from kopilka.backoffice.roles import SENIOR_SUPPORT, SUPPORT, sync_roles
from kopilka.customers import services as members
from kopilka.ledger import services as ledger

PASSWORD = "a-long-browser-password-2"


def _person(username: str, role: str) -> User:
    sync_roles()
    user = User.objects.create_user(username, password=PASSWORD, is_staff=True, first_name=username.title())
    user.groups.set([Group.objects.get(name=role)])
    return user


def _sign_in(page, username: str, target: str = "/office/") -> None:
    page.goto(f"/admin/login/?next={target}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"**{target}**")


def _member():
    anna = members.create_member(actor="t", last_name="Соколова", first_name="Анна", phone="+79161234567",
                                 email="anna@example.ru")
    ledger.accrue(member_id=anna.pk, points=120, actor="t", idempotency_key="seed-1", lifetime_days=30)
    return anna


def _grant(page, shot, points: int, comment: str) -> None:
    page.get_by_role("link", name="Начислить компенсацию").click()
    page.get_by_label("Баллы").fill(str(points))
    page.get_by_label("Причина").select_option("compensation-late-delivery")
    page.get_by_label("Комментарий").fill(comment)
    shot(page, f"compensation-{points}-filled")
    page.get_by_role("button", name="Проверить").click()


def test_an_agent_finds_a_member_and_grants_compensation_within_the_limit(page, shot):
    anna = _member()
    _person("olga", SUPPORT)
    _sign_in(page, "olga")
    expect(page.get_by_role("heading", name="Найти участника")).to_be_visible()
    page.get_by_label("Телефон, e-mail, карта, ИНН или имя").fill("8 916 123-45-67")
    shot(page, "search")
    page.get_by_role("button", name="Найти").click()
    page.wait_for_url(f"**/office/members/{anna.pk}/")
    expect(page.get_by_role("heading", name=re.compile("Соколова"))).to_be_visible()
    expect(page.get_by_test_id("available")).to_have_text("120")
    shot(page, "member-card")

    _grant(page, shot, 300, "Задержка доставки заказа")
    expect(page.get_by_text("В пределах ваших лимитов")).to_be_visible()
    shot(page, "review")
    page.get_by_role("button", name="Подтвердить и начислить").click()
    page.wait_for_url(f"**/office/members/{anna.pk}/")
    expect(page.get_by_role("status")).to_contain_text("Начислено баллов: 300")
    expect(page.get_by_test_id("available")).to_have_text("420")
    expect(page.locator("#ledger").locator("xpath=..")).to_contain_text("Задержка доставки заказа")
    shot(page, "granted")


def test_above_the_limit_the_grant_waits_and_a_senior_approves_it(page_in, shot):
    anna = _member()
    _person("olga", SUPPORT)
    _person("irina", SENIOR_SUPPORT)
    CompensationLimit.objects.filter(role__name=SUPPORT).update(per_operation=500)

    agent = page_in()
    _sign_in(agent, "olga", f"/office/members/{anna.pk}/")
    _grant(agent, shot, 2000, "Испорченный товар, крупный заказ")
    expect(agent.get_by_text("Сверх ваших лимитов")).to_be_visible()
    shot(agent, "review-above-limit")
    agent.get_by_role("button", name="Подтвердить и отправить на согласование").click()
    expect(agent.get_by_role("status")).to_contain_text("ждёт согласования")
    expect(agent.get_by_test_id("available")).to_have_text("120")
    shot(agent, "waiting")

    senior = page_in("en-US")  # the senior works in English
    _sign_in(senior, "irina", "/office/compensations/")
    row = senior.locator("tr", has_text="Испорченный товар")
    expect(row).to_contain_text("2,000")
    shot(senior, "waiting-list-en")
    row.get_by_label("Comment").fill("Checked the photos")
    row.get_by_role("button", name="Approve").click()
    expect(senior.get_by_role("status")).to_contain_text("Approved: 2000 points granted.")
    shot(senior, "approved-en")

    senior.goto(f"/office/members/{anna.pk}/")
    expect(senior.get_by_test_id("available")).to_have_text("2,120")
    expect(senior.locator("html")).to_have_attribute("lang", "en")
    compensations = senior.locator("section", has=senior.locator("#compensations"))
    expect(compensations).to_contain_text("approved")
    expect(compensations).to_contain_text("irina")
    shot(senior, "member-card-en")
