"""The partners' inbox header in a real headless Chromium: the pull line follows /state while the page stays open.

The page is never reloaded: every change (a pull failing, one running, one
done) must reach the member through the page's own /state rounds, the
last-pulled time and the error included.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page

from haven.broker.settings import BrokerSettings
from haven.envelope import PrivateKey
from haven.partner.pull import PartnerSettings
from haven.partner.web import ServeSettings, create_app
from haven.partner.web.state import STATE_KEY, WebState
from tests.haven.partner.web.conftest import Team
from tests.team_inbox import make_team
from tests.web.inbox_server import served as served_app
from tests.web.inbox_server import unlocked_tab

# A broker that refuses at once: a pull fails fast.
NO_BROKER = PartnerSettings(BrokerSettings(urls=("amqp://u:p@127.0.0.1:1/%2F",)), "alpha")
ROUND_MS = 5000


@dataclass
class Served:
    base: str
    web: WebState


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    key = PrivateKey.generate()
    root = tmp_path / "inbox"
    team = Team(root, key, make_team(root, key))
    team.take()
    settings = ServeSettings(inbox=root, partner_id="alpha", broker=NO_BROKER, language="en")
    app: Flask = create_app(settings, clock=team.clock, background=False)
    web = app.extensions[STATE_KEY]
    assert isinstance(web, WebState)
    with served_app(app) as base:
        yield Served(base, web)


def _inbox_page(browser: Browser, served: Served) -> Page:
    return unlocked_tab(browser, served.base)


def _next_round(page: Page, expected: str) -> None:
    """Let the page's /state round run, then wait for the pull line to read `expected`."""
    page.clock.run_for(ROUND_MS)
    page.wait_for_function(
        "expected => document.getElementById('pull-status').textContent.includes(expected)",
        arg=expected,
        timeout=5000,
    )


def test_the_pull_line_shows_progress_the_last_pull_and_errors_live(
    browser: Browser, served: Served
) -> None:
    page = _inbox_page(browser, served)
    status = page.locator("#pull-status")
    catalog, puller = served.web.catalog, served.web.puller
    assert catalog.gettext("en", "Not pulled yet") in status.inner_text()

    # A pull fails: the error appears without a reload.
    assert puller.pull_once() is None
    error = puller.snapshot()["error"]
    assert error is not None
    _next_round(page, catalog.gettext("en", error.msgid, **error.values))
    assert page.locator("#pull-status .pull-error").count() == 1

    # One under way: its progress.
    with puller._lock:
        puller.status.running, puller.status.handled, puller.status.remaining = True, 2, 3
    _next_round(
        page,
        catalog.gettext("en", "Pulling: {handled} taken, {remaining} left", handled=2, remaining=3),
    )

    # Done, without error: the last-pulled time, the error gone.
    with puller._lock:
        puller.status.running = False
        puller.status.last_pulled = datetime.now(UTC)
        puller.status.error = None
    _next_round(page, catalog.gettext("en", "Last pulled:"))
    assert page.locator("#last-pulled").inner_text().strip()
    assert page.locator("#pull-status .pull-error").count() == 0

    # A later pull: the time is that one's.
    with puller._lock:
        puller.status.last_pulled = datetime(2031, 5, 17, 9, 41, tzinfo=UTC)
    page.clock.run_for(ROUND_MS)
    page.wait_for_function(
        "() => (document.getElementById('last-pulled') || {}).textContent?.includes('2031')",
        timeout=5000,
    )

    # The next one under way: the last pull's time stays in view beside its progress.
    with puller._lock:
        puller.status.running, puller.status.handled, puller.status.remaining = True, 1, 0
    _next_round(
        page,
        catalog.gettext("en", "Pulling: {handled} taken, {remaining} left", handled=1, remaining=0),
    )
    assert "2031" in page.locator("#last-pulled").inner_text()
    page.context.close()
