"""A real headless Chromium (Debian's, driven by Playwright) against a live intake on the real broker.

The browser is the system's `chromium` (scripts/ensure-chromium installs
it); Playwright's own browser download is never used. Each test gets a
fresh browser context: no cookies, no storage, no cache carried over.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Playwright, sync_playwright

from tests.haven.partner.conftest import (  # noqa: F401 - fixtures shared with the partner tests
    Network,
    channel,
    make_network,
    partner_private_keys,
)
from tests.repo import REPO

# A phone: the narrowest common width, as the issue asks.
PHONE = {"width": 360, "height": 780}
SCREENSHOTS = Path(os.environ.get("HAVEN_SCREENSHOTS_DIR") or REPO / "build" / "screenshots")


def chromium_path() -> str:
    found = shutil.which("chromium")
    if found is None:
        pytest.fail(
            "Debian's chromium is not installed: run scripts/ensure-chromium (make test does)"
        )
    return found


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as running:
        yield running


def launch_chromium(playwright: Playwright, *args: str) -> Browser:
    """Debian's chromium, headless, with any extra command-line `args`."""
    return playwright.chromium.launch(
        executable_path=chromium_path(),
        # The test machine runs as root in a container: Chromium's own sandbox
        # needs user namespaces it does not have here.
        args=["--no-sandbox", *args],
    )


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = launch_chromium(playwright)
    yield launched
    launched.close()


def phone_context(
    browser: Browser, *, javascript: bool = True, width: int = PHONE["width"]
) -> BrowserContext:
    """A fresh context as a Russian-speaking phone sees Haven: nothing carried over."""
    context = browser.new_context(
        viewport={"width": width, "height": PHONE["height"]},
        device_scale_factor=1,
        locale="ru-RU",
        java_script_enabled=javascript,
    )
    # The quick exit's neutral site, answered locally: nothing leaves this machine.
    context.route(
        "https://yandex.ru/**",
        lambda route: route.fulfill(
            status=200, content_type="text/html", body="<title>Погода</title><h1>Погода</h1>"
        ),
    )
    return context


@pytest.fixture
def new_context(browser: Browser) -> Iterator[Callable[..., BrowserContext]]:
    made: list[BrowserContext] = []

    def make(*, javascript: bool = True, width: int = PHONE["width"]) -> BrowserContext:
        context = phone_context(browser, javascript=javascript, width=width)
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


@pytest.fixture
def web_network(make_network: Callable[..., Network]) -> Network:  # noqa: F811 - the fixture
    return make_network()


def screenshot_path(name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{name}.png"
