"""The admin through a real browser: log in through the form; the language follows the browser's."""

from playwright.sync_api import expect

USERNAME = "browser-admin"
PASSWORD = "a-long-browser-password-1"


def log_in(page) -> None:
    """Signs in through the admin's login form, which the page shows."""
    log_in_to(page, "**/admin/")


def log_in_to(page, target: str) -> None:
    """Signs in through the login form the page shows and waits for `target`."""
    page.fill("#id_username", USERNAME)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(target)


def test_admin_login_in_russian_then_english(page_in, shot, django_user_model):
    django_user_model.objects.create_superuser(USERNAME, "admin@example.com", PASSWORD)

    ru = page_in()
    ru.goto("/admin/login/")
    expect(ru.locator("#site-name")).to_have_text("Копилка: администрирование")
    # The admin's stylesheet came from the live server: its header is coloured.
    assert ru.locator("#header").evaluate("e => getComputedStyle(e).backgroundColor") != "rgba(0, 0, 0, 0)"
    shot(ru, "login")
    log_in(ru)
    expect(ru.locator("html")).to_have_attribute("lang", "ru")
    expect(ru.locator("h1")).to_have_text("Администрирование")
    shot(ru, "index-ru")

    en = page_in("en-US")
    en.goto("/admin/login/")
    log_in(en)
    expect(en.locator("html")).to_have_attribute("lang", "en")
    expect(en.locator("#site-name")).to_have_text("Kopilka: administration")
    expect(en.locator("h1")).to_have_text("Administration")
    shot(en, "index-en")


def test_the_back_office_switches_language_under_its_content_security_policy(page, offline, django_user_model):
    """The header's language switcher works in a browser that enforces the page's policy, and nothing on the page
    is blocked by it."""
    django_user_model.objects.create_superuser(USERNAME, "admin@example.com", PASSWORD)
    met = offline(page)
    page.goto("/admin/login/?next=/office/")
    log_in_to(page, "**/office/**")
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.get_by_role("button", name="Переключить")).to_be_hidden()
    page.get_by_label("Язык").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    assert met.refused == [] and met.outside == []
