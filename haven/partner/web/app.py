"""The partners' inbox as a Flask app: `create_app(settings)`, served by `haven partner serve`.

One process, several threads: the unlocked key and the opened cases are in
this process's memory only (haven.partner.web.vault), never in a cookie,
a file or another process.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from flask import Flask

from haven.partner.web import actions, case_view, views
from haven.partner.web.alerts import Alerts
from haven.partner.web.i18n import read_catalog
from haven.partner.web.puller import Puller
from haven.partner.web.settings import ServeSettings
from haven.partner.web.state import STATE_KEY, WebState
from haven.partner.web.vault import Vault

# The largest form a member sends: a reply of 4000 characters, 4 bytes each, and the rest.
MAX_FORM_BYTES = 64 * 1024


def create_app(
    settings: ServeSettings,
    *,
    clock: Callable[[], float] = time.monotonic,
    wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    background: bool = True,
) -> Flask:
    """The app; `background=False` leaves pulling and idle sweeps to the caller (tests)."""
    app = Flask(__name__, static_folder="static", static_url_path="/static")
    app.config.update(
        MAX_CONTENT_LENGTH=MAX_FORM_BYTES,
        MAX_FORM_MEMORY_SIZE=MAX_FORM_BYTES,
        # Flask's own signed session is never used: sessions are server-side tokens.
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SEND_FILE_MAX_AGE_DEFAULT=0,
    )
    vault = Vault(settings.inbox, settings.idle_lock, clock)
    puller = Puller(vault, settings, Alerts(settings.alert_command), wall)
    app.extensions[STATE_KEY] = WebState(settings, vault, puller, read_catalog(), wall, background)
    views.register(app)
    case_view.register(app)
    actions.register(app)
    return app
