"""The partners' inbox idle lock in a real headless Chromium: what a page does on its own.

The server locks an idle session (tests/haven/partner/web/test_lock.py); the
page must stop showing cases too, on a wall-clock deadline that survives a
sleeping machine, and without locking a member who is busy in another tab.
Chromium's own clock is faked (Playwright's clock), the server's is the
test's: both move only when the test says.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from haven.envelope import PrivateKey
from haven.partner.web import ServeSettings, create_app
from tests.haven.partner.web.conftest import Clock, Team
from tests.team_inbox import make_team
from tests.web.inbox_server import served as served_app
from tests.web.inbox_server import unlocked_tab

IDLE = 60
CANARY = "canary-idle-tab-4d2"


@dataclass
class Served:
    base: str
    clock: Clock
    request_id: str


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    key = PrivateKey.generate()
    root = tmp_path / "inbox"
    team = Team(root, key, make_team(root, key))
    request_id = team.take(CANARY)
    settings = ServeSettings(inbox=root, partner_id="alpha", idle_lock=IDLE)
    app = create_app(settings, clock=team.clock, background=False)
    with served_app(app) as base:
        yield Served(base, team.clock, request_id)


# The page may lock through two doors at once (its own deadline submits the
# lock form; /state saying "locked" sends it to /unlock): one navigation then
# aborts the other, so the tests wait for where the tab ends up, not for one
# navigation to finish.


def _page_now(page: Page) -> float:
    """The page's wall clock, in seconds (what Playwright's clock takes)."""
    return float(page.evaluate("Date.now()")) / 1000


def _unlocked_case(browser: Browser, served: Served) -> Page:
    page = unlocked_tab(browser, served.base)
    page.goto(f"{served.base}/cases/{served.request_id}")
    assert CANARY in page.content()
    # From here on no timer runs unless the test moves the clock (a machine asleep).
    page.clock.pause_at(_page_now(page) + 1)
    return page


def test_a_tab_left_open_while_the_machine_slept_locks_when_it_wakes(
    browser: Browser, served: Served
) -> None:
    page = _unlocked_case(browser, served)
    # Asleep for twice the idle time: no timer ran, the wall clock went on.
    served.clock.now += 2 * IDLE
    page.clock.set_system_time(_page_now(page) + 2 * IDLE)
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    expect(page).to_have_url(f"{served.base}/unlock", timeout=10000)
    assert CANARY not in page.content()
    page.context.close()


def test_a_tab_left_alone_stays_while_the_member_works_in_another(
    browser: Browser, served: Served
) -> None:
    idle_tab = _unlocked_case(browser, served)
    # The member works in a second tab of the same browser for most of the idle time.
    served.clock.now += IDLE - 10
    busy_tab = idle_tab.context.new_page()
    busy_tab.goto(f"{served.base}/")
    # The idle tab's own deadline passes: it asks the server, which says the session is busy.
    idle_tab.clock.fast_forward(IDLE * 1000 + 2000)
    time.sleep(1.5)
    assert idle_tab.url == f"{served.base}/cases/{served.request_id}"
    assert idle_tab.locator("#main").is_visible() and CANARY in idle_tab.content()
    # Nobody does anything for the idle time: then it locks.
    served.clock.now += IDLE
    idle_tab.clock.fast_forward(IDLE * 1000 + 2000)
    expect(idle_tab).to_have_url(f"{served.base}/unlock", timeout=10000)
    assert CANARY not in idle_tab.content()
    idle_tab.context.close()
