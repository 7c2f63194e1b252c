"""Fixtures for tests that drive a real browser: Playwright with Debian's chromium against the live server."""

import itertools
import os
import re
import shutil
from dataclasses import dataclass, field

import pytest
from django.db import connections
from playwright.sync_api import sync_playwright

CHROMIUM = os.environ.get("KOPILKA_CHROMIUM", "/usr/bin/chromium")
VIEWPORT = {"width": 1366, "height": 900}


@pytest.fixture(scope="package")
def browser():
    """A headless chromium, started once for the browser tests and closed after the last of them; fails (never
    skips) when there is no chromium.

    Between its calls Playwright's sync API leaves its event loop marked as running in the main thread. Django
    then refuses ORM calls as "async unsafe", and would hand the test new database connections (asgiref keeps
    connections per context once a loop runs), leaving the test's transaction handling and serialized rollback
    on the old ones. So while the browser runs, DJANGO_ALLOW_ASYNC_UNSAFE is set and the main thread keeps its
    connections; the package scope ends both before the other tests run.
    """
    if not os.path.exists(CHROMIUM):
        pytest.fail(
            f"no chromium at {CHROMIUM}: the browser tests need it. `scripts/install-test-deps chromium` "
            "installs it (`make test` runs it first), or set KOPILKA_CHROMIUM to a Chromium executable.",
            pytrace=False,
        )
    kept = {alias: connections[alias] for alias in connections}
    with pytest.MonkeyPatch.context() as env, sync_playwright() as playwright:
        env.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        for alias, connection in kept.items():
            connections[alias] = connection
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page_in(browser, live_server, django_db_serialized_rollback):
    """page_in(locale="ru-RU") opens a page in a new browser context: the locale sets Accept-Language, the
    viewport is 1366x900, and relative URLs go to the live server. The contexts close after the test.

    The database is transactional (the live server sees what the test saves) and is flushed after the test;
    serialized rollback reloads the rows that data migrations made before each test that needs them.
    """
    contexts = []

    def open_page(locale: str = "ru-RU"):
        context = browser.new_context(locale=locale, viewport=VIEWPORT, base_url=live_server.url)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(page_in):
    """A page in a ru-RU context (see page_in)."""
    return page_in()


def _file_name(text: str) -> str:
    return re.sub(r"[^\w.-]+", "_", text).strip("_")


@pytest.fixture
def shot(request):
    """shot(page, name) saves a full-page screenshot to
    test-artifacts/screenshots/<test module>/<test name>/<NN>-<name>.png, NN counting from 01 within the test,
    and returns its path. The test's folder is emptied first, so it holds only this run's screenshots.
    """
    folder = (
        request.config.rootpath
        / "test-artifacts"
        / "screenshots"
        / request.node.path.stem
        / _file_name(request.node.name)
    )
    shutil.rmtree(folder, ignore_errors=True)
    sequence = itertools.count(1)

    def take(page, name: str):
        path = folder / f"{next(sequence):02d}-{_file_name(name)}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=path, full_page=True)
        return path

    return take


@dataclass
class Cut:
    """What a page cut off from the world met: requests it made elsewhere than the platform (blocked), and what its
    Content Security Policy refused (the browser's console messages)."""

    outside: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


@pytest.fixture
def offline(live_server):
    """offline(page) blocks every request of `page` that does not go to the server under test, as on a server
    without the internet, and returns the Cut that records what was blocked or refused from then on."""

    def cut(page) -> Cut:
        met = Cut()

        def only_the_platform(route):
            if route.request.url.startswith(live_server.url):
                route.continue_()
            else:
                met.outside.append(route.request.url)
                route.abort()

        page.route("**/*", only_the_platform)
        page.on("console", lambda message: met.refused.append(message.text)
                if "Content Security Policy" in message.text else None)
        return met

    return cut
