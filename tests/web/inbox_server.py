"""The partners' inbox app served on a real port for Chromium, and a tab a member has unlocked."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from playwright.sync_api import Browser, Page
from werkzeug.serving import make_server

from tests.team_inbox import MEMBER, MEMBER_PASSPHRASE


@contextmanager
def served(app: Flask) -> Iterator[str]:
    """The app on 127.0.0.1 in a thread, at the base URL yielded."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="inbox", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()


def unlocked_tab(browser: Browser, base: str) -> Page:
    """A new browser context whose clock the test moves, unlocked by the team's member."""
    context = browser.new_context()
    # Chromium's Date and timers, moved by the test alone.
    context.clock.install()
    page = context.new_page()
    page.goto(f"{base}/unlock")
    page.fill("#member", MEMBER)
    page.fill("#passphrase", MEMBER_PASSPHRASE)
    page.click("#unlock-button")
    page.wait_for_url(f"{base}/")
    return page
