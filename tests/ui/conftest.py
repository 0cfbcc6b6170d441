"""Browser tests: the app's page in real headless Chromium (Debian's /usr/bin/chromium,
driven by Playwright for Python; Playwright's own browser download is never used)."""
from __future__ import annotations

import contextlib
import os
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.app_server import ARTIFACTS, READING_APP, start_app

CHROMIUM = os.environ.get("TAGGING_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
]  # fmt: skip
SCREENSHOTS = ARTIFACTS / "screenshots"
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="session")
def ui_app(azurite):
    """The runner serving the real app; the page is at ``ui_app.url('/api/ui')``."""
    runner = start_app(azurite.connection_string, "ui", default_user="ui-default")
    yield runner
    runner.ensure_stopped()


@pytest.fixture(scope="session")
def reading_app(azurite):
    """The runner serving the real app whose tagger also runs the text/face test doubles."""
    runner = start_app(azurite.connection_string, "reading", default_user="ui-default", app_dir=READING_APP)
    yield runner
    runner.ensure_stopped()


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium. Missing Chromium or Playwright fails the tests: never skipped."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: the browser tests need Debian's chromium package "
            "(apt-get update && apt-get install -y chromium), or TAGGING_CHROMIUM=/path/to/chromium",
            pytrace=False,
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the playwright package is missing: pip install -r requirements-dev.txt", pytrace=False)
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


class PageErrors:
    """Uncaught script errors and console errors of one page."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.navigations = 0

    def navigated(self) -> None:
        self.navigations += 1

    def unexpected(self) -> list[str]:
        # The browser logs every 4xx answer ("Failed to load resource"); the tests
        # provoke some on purpose (a rejected file) and check what the page shows.
        return [e for e in self.errors if "Failed to load resource" not in e]


@pytest.fixture
def user() -> str:
    """A caller identity of this test only (sent by the browser as the principal header)."""
    return "ui-" + secrets.token_hex(4)


@pytest.fixture
def page_for(browser, ui_app, user, request) -> Iterator:
    """``page_for(viewport=None)``: a new page with this test's user, at the app's page.
    After the test: a screenshot of each page, and no script errors allowed."""
    yield from _pages(browser, ui_app, user, request)


@pytest.fixture
def reading_page_for(browser, reading_app, user, request) -> Iterator:
    """As ``page_for``, on :func:`reading_app`."""
    yield from _pages(browser, reading_app, user, request)


def _pages(browser, ui_app, user, request) -> Iterator:
    contexts = []

    def open_page(viewport: dict[str, int] | None = None):
        context = browser.new_context(
            viewport=viewport or DESKTOP, extra_http_headers={"X-MS-CLIENT-PRINCIPAL-ID": user}
        )
        page = context.new_page()
        page.set_default_timeout(15_000)
        errors = PageErrors()
        page.on("pageerror", lambda error: errors.errors.append(f"page error: {error}"))
        page.on("console", lambda message: message.type == "error" and errors.errors.append(message.text))
        page.on("framenavigated", lambda frame: frame == page.main_frame and errors.navigated())
        page.errors = errors  # type: ignore[attr-defined]
        contexts.append((context, page))
        page.goto(ui_app.url("/api/ui"))
        wait_ready(page)
        return page

    yield open_page
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    for index, (context, page) in enumerate(contexts):
        with contextlib.suppress(Exception):  # a screenshot is a nicety
            page.screenshot(path=str(SCREENSHOTS / f"{name}-end{index or ''}.png"), full_page=True)
        unexpected = page.errors.unexpected()
        context.close()
        assert not unexpected, f"script errors on the page: {unexpected}"


THUMBNAILS_LOADED = (
    "[...document.querySelectorAll('.card img.card-thumb')].every(i => i.complete && i.naturalWidth > 0)"
)
DETAIL_IMAGE_LOADED = "(i => i.complete && i.naturalWidth > 0)(document.getElementById('detail-image'))"


def wait_ready(page) -> None:
    """Until the page's script has set ``<html data-ready="true">``."""
    from playwright.sync_api import expect

    expect(page.locator("html")).to_have_attribute("data-ready", "true")


def wait_true(page, expression: str, timeout: float = 15.0) -> None:
    """Until the JavaScript ``expression`` is truthy in the page. Polls with
    ``page.evaluate``: ``page.wait_for_function`` polls through ``new Function`` in the
    page, which the page's Content-Security-Policy (no 'unsafe-eval') refuses whenever
    the first check is false."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout} s: {expression}")
        page.wait_for_timeout(50)


def shot(page, name: str, full_page: bool = True) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
