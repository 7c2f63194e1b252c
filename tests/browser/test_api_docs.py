"""The API's interactive docs work on a server without the internet: every request the page makes that does not go
to the platform itself is blocked, and the page still lists the API's operations, with nothing refused by the
page's Content Security Policy."""

from playwright.sync_api import expect


def test_the_api_docs_are_served_whole_by_the_platform(page, offline, shot):
    met = offline(page)
    page.goto("/api/v1/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Kopilka")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/v1/purchases/evaluate" in paths and len(paths) > 50
    shot(page, "docs")
    assert met.outside == [] and met.refused == []
