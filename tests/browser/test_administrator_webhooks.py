"""An administrator opens an existing webhook endpoint from the list, finds every stored value in its form, changes
one thing and saves: the page shows it changed, the rest as it was; a private address without the flag is refused
on the page in the reader's language and nothing changes."""

import pytest
from playwright.sync_api import expect

from kopilka.communications.models import Endpoint
from tests.browser.office import sign_in

WORDS = {
    "ru-RU": {"save": "Сохранить", "saved": "Адрес вебхука сохранён.",
              "private": "ведёт на частный или локальный адрес"},
    "en-US": {"save": "Save", "saved": "Webhook endpoint saved.", "private": "leads to a private or local address"},
}


@pytest.mark.parametrize("locale", ["ru-RU", "en-US"])
def test_an_administrator_changes_one_thing_of_an_existing_endpoint(page_in, offline, shot, locale):
    page = page_in(locale)
    offline(page)
    scene = sign_in(page)
    words = WORDS[locale]
    page.goto("/office/webhooks/")
    page.get_by_role("link", name="http://127.0.0.1:9/hooks").click()
    page.wait_for_url(f"**/office/webhooks/{scene['webhook']}/")

    expect(page.locator("#id_url")).to_have_value("http://127.0.0.1:9/hooks")
    expect(page.locator("#id_description")).to_have_value("CRM")
    expect(page.locator("input[name=event_types][value='member.created']")).to_be_checked()
    expect(page.locator("input[name=event_types][value='order.paid']")).not_to_be_checked()
    expect(page.locator("#id_is_enabled")).to_be_checked()
    expect(page.locator("#id_allow_private")).to_be_checked()
    shot(page, "stored")

    page.locator("input[name=event_types][value='order.paid']").check()
    page.get_by_role("button", name=words["save"], exact=True).click()
    page.wait_for_load_state()

    expect(page.get_by_role("status").filter(has_text=words["saved"])).to_be_visible()
    expect(page.locator("input[name=event_types][value='order.paid']")).to_be_checked()
    expect(page.locator("input[name=event_types][value='member.created']")).to_be_checked()
    expect(page.locator("#id_description")).to_have_value("CRM")
    expect(page.locator("#id_url")).to_have_value("http://127.0.0.1:9/hooks")
    shot(page, "saved")
    saved = Endpoint.objects.get(pk=scene["webhook"])
    assert (saved.url, saved.description, saved.event_types, saved.is_enabled, saved.allow_private) == (
        "http://127.0.0.1:9/hooks", "CRM", ["member.created", "order.paid"], True, True)

    page.fill("#id_url", "http://10.0.0.5/hooks")
    page.locator("#id_allow_private").uncheck()
    page.get_by_role("button", name=words["save"], exact=True).click()
    page.wait_for_load_state()
    expect(page.locator("ul.errorlist")).to_contain_text(words["private"])
    shot(page, "refused")
    assert Endpoint.objects.get(pk=scene["webhook"]).url == "http://127.0.0.1:9/hooks"
