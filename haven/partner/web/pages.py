"""Rendering a screen, and the member's session of this request (shared by views and actions)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from flask import Response, g, redirect, render_template

from haven.partner.inbox import InboxError
from haven.partner.web import i18n
from haven.partner.web.puller import counts
from haven.partner.web.state import web_state
from haven.partner.web.vault import Locked, Session


def gettext(msgid: str, **values: object) -> str:
    return web_state().catalog.gettext(g.get("lang", "en"), msgid, **values)


def current() -> Session | None:
    """The unlocked session of this request (set by the request hook), if any."""
    session: Session | None = g.get("session")
    return session


def to_unlock() -> Response:
    return redirect("/unlock", code=303)  # type: ignore[return-value]


def pull_line(pull: Mapping[str, Any], lang: str) -> dict[str, str | None]:
    """The header's pull status in pieces: a page shows them, /state sends them for an open page to rebuild."""
    last = pull["last_pulled"]
    if not pull["enabled"]:
        text = gettext("Not pulling: no broker URL was given.")
    elif pull["running"]:
        text = gettext(
            "Pulling: {handled} taken, {remaining} left",
            handled=pull["handled"],
            remaining=pull["remaining"],
        )
        if last:
            # The last pull's time stays in view while the next one runs.
            text += " · " + gettext("Last pulled:")
    elif last:
        text = gettext("Last pulled:")
    else:
        text = gettext("Not pulled yet")
    error = pull["error"]
    return {
        "text": text,
        "last_pulled": i18n.when(last, lang) if last else None,
        "error": gettext(error.msgid, **error.values) if error is not None else None,
    }


def render(template: str, status: int = 200, **context: Any) -> Response:
    state = web_state()
    session = current()
    # An error raised before the request hook chose a language is shown in English.
    lang: str = g.get("lang", "en")
    new = 0
    if session is not None:
        try:
            new, _overdue = counts(state.vault, state.wall())
        except (Locked, InboxError):
            # The count is a convenience: a page (an error page too) shows without it.
            new = 0
    notice = None
    if session is not None and session.notice is not None:
        notice, session.notice = session.notice, None
    html = render_template(
        template,
        lang=lang,
        _=functools.partial(state.catalog.gettext, lang),
        session=session,
        idle_lock=int(state.settings.idle_lock),
        new_count=new,
        notice=notice,
        pull=pull_line(state.puller.snapshot(), lang),
        when=functools.partial(i18n.when, lang=lang),
        **context,
    )
    return Response(html, status=status, mimetype="text/html")
