"""The screens: unlock, inbox, case; the lock; /state for the tab title; the request checks.

Every request passes `_before`: the page's language, the member's session
(none for a request the browser marks as coming from another page; touched,
except by /state, so an open tab polling counts does not keep an unattended
inbox unlocked), and on a POST the CSRF token and the browser's cross-site
signals. Views log ids and outcomes only.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, Response, abort, g, jsonify, request
from werkzeug.exceptions import HTTPException

from haven.catalogs import N_
from haven.partner import team
from haven.partner.case import STATUSES, Case
from haven.partner.inbox import FOLLOW_UP, REQUEST, InboxError, same_thread
from haven.partner.web import i18n, security
from haven.partner.web.pages import current, gettext, pull_line, render, to_unlock
from haven.partner.web.present import status_name, time_left_text
from haven.partner.web.puller import counts
from haven.partner.web.readable import category_name, label
from haven.partner.web.state import web_state
from haven.partner.web.vault import Locked
from schemas.routing import CATEGORIES, LANGUAGES, REGIONS, URGENCIES

log = logging.getLogger(__name__)

# Paths reachable without an unlocked session.
OPEN_PATHS = frozenset({"/unlock", "/state"})
DUE_WINDOWS = {"24h": timedelta(hours=24), "72h": timedelta(hours=72)}
FILTERS = ("category", "urgency", "region", "language", "status", "assignee", "due")
URGENCY_ORDER = {value: position for position, value in enumerate(reversed(URGENCIES))}


def register(app: Flask) -> None:
    app.before_request(_before)
    app.after_request(_after)
    app.register_error_handler(HTTPException, _error)
    app.register_error_handler(InboxError, _unreadable)
    app.register_error_handler(team.TeamError, _unreadable)
    app.add_url_rule("/unlock", view_func=unlock_page, methods=["GET"])
    app.add_url_rule("/unlock", view_func=unlock, methods=["POST"], endpoint="unlock_post")
    app.add_url_rule("/lock", view_func=lock, methods=["POST"])
    app.add_url_rule("/", view_func=inbox, methods=["GET"])
    app.add_url_rule("/state", view_func=state, methods=["GET"])


def _before() -> Response | None:
    state = web_state()
    g.lang = i18n.choose_language(request, state.settings.language)
    if not security.host_trusted(request, state.hosts):
        log.warning("a request for another host name was refused")
        return render(
            "error.html",
            400,
            message=gettext(
                N_("This inbox does not answer to this address. Open it at the address it printed.")
            ),
        )
    if request.path.startswith("/static/"):
        return None
    if not state.background:
        state.vault.sweep()
    # Another page on this machine (another localhost port, a site the member
    # visits) still sends the cookie: its requests get no session, see no case,
    # write no "viewed" and never count as activity.
    foreign = security.cross_site(request)
    token = None if foreign else request.cookies.get(security.SESSION_COOKIE)
    g.session = state.vault.session(token, touch=request.path != "/state")
    if request.method == "POST":
        if foreign:
            log.warning("a cross-site POST was refused")
            abort(403)
        expected = (
            request.cookies.get(security.UNLOCK_COOKIE)
            if request.path == "/unlock"
            else (g.session.csrf if g.session is not None else None)
        )
        if not security.token_matches(expected, request.form.get(security.CSRF_FIELD)):
            if g.session is None and request.path != "/unlock":
                return to_unlock()
            log.warning("a POST without a valid CSRF token was refused")
            abort(403)
    if g.session is None and request.path not in OPEN_PATHS:
        return to_unlock()
    return None


def _after(response: Response) -> Response:
    return security.apply_headers(response, tls=web_state().settings.tls)


def _error(exc: HTTPException) -> Response:
    code = exc.code or 500
    messages = {
        400: N_("This form was not complete. Go back and check it."),
        403: N_(
            "This request was refused: it did not come from this page. Reload the page and try again."
        ),
        404: N_("Not found."),
        405: N_("Not found."),
        413: N_("This form is too large."),
    }
    return render(
        "error.html", code, message=gettext(messages.get(code, N_("Something went wrong.")))
    )


def _unreadable(exc: Exception) -> Response:
    # The type only: the message names a file or an id, which this log need not keep.
    log.warning("the inbox could not be read or written (%s)", type(exc).__name__)
    return render(
        "error.html",
        503,
        message=gettext(
            N_("The inbox cannot be read or written right now. Try again in a moment.")
        ),
    )


# -- unlock and lock -----------------------------------------------------------


def unlock_page(error: str | None = None, status: int = 200) -> Response:
    if current() is not None and error is None:
        return _redirect("/")
    # The browser's token, when it has one: another tab, or a favicon request
    # sent here, must not replace the token of a form already on screen.
    kept = request.cookies.get(security.UNLOCK_COOKIE, "")
    token = kept if security.well_formed(kept) else secrets.token_urlsafe(security.TOKEN_BYTES)
    response = render(
        "unlock.html",
        status,
        unlock_csrf=token,
        error=error,
        member=request.form.get("member", "") if request.method == "POST" else "",
    )
    security.set_cookie(response, security.UNLOCK_COOKIE, token, tls=web_state().settings.tls)
    return response


def unlock() -> Response:
    state = web_state()
    member = request.form.get("member", "").strip()
    passphrase = request.form.get("passphrase", "")
    if not member or not passphrase:
        return unlock_page(gettext("Enter your member name and your passphrase."), 400)
    try:
        session = state.vault.unlock(member, passphrase)
    except team.TeamError:
        # One answer for an unknown member and a wrong passphrase (team.unlock does the same work).
        return unlock_page(gettext("Wrong member name or passphrase."), 403)
    if state.background:
        state.puller.start()
    response = _redirect("/")
    security.set_cookie(response, security.SESSION_COOKIE, session.token, tls=state.settings.tls)
    security.clear_cookie(response, security.UNLOCK_COOKIE, tls=state.settings.tls)
    return response


def lock() -> Response:
    session = current()
    state = web_state()
    if session is not None:
        state.vault.lock(session)
    response = _redirect("/unlock")
    security.clear_cookie(response, security.SESSION_COOKIE, tls=state.settings.tls)
    # Whatever the browser kept despite no-store (a back-forward copy) goes too.
    response.headers["Clear-Site-Data"] = security.CLEAR_ON_LOCK
    return response


def _redirect(path: str) -> Response:
    return Response(status=303, headers={"Location": path})


# -- the inbox -------------------------------------------------------------------


def _filters() -> dict[str, str]:
    """The query's filters, each checked against what it can be; 400 names a wrong one."""
    known: dict[str, tuple[str, ...] | None] = {
        "category": (*CATEGORIES, FOLLOW_UP),
        "urgency": URGENCIES,
        "region": None,  # a follow-up's region is this partner's id
        "language": LANGUAGES,
        "status": STATUSES,
        "assignee": None,
        "due": ("overdue", *DUE_WINDOWS),
    }
    chosen: dict[str, str] = {}
    for name in FILTERS:
        value = request.args.get(name, "").strip()
        if not value:
            continue
        allowed = known[name]
        if (allowed is not None and value not in allowed) or len(value) > 64:
            abort(400)
        chosen[name] = value
    return chosen


def _matches(case: Case, chosen: dict[str, str], now: datetime) -> bool:
    routing = case.entry.routing
    for name in ("category", "urgency", "region", "language"):
        if name in chosen and routing.get(name) != chosen[name]:
            return False
    if "status" in chosen and case.status != chosen["status"]:
        return False
    if "assignee" in chosen:
        wanted = None if chosen["assignee"] == "-" else chosen["assignee"]
        if case.assignee != wanted:
            return False
    due = chosen.get("due")
    if due == "overdue" and not case.overdue(now):
        return False
    if due in DUE_WINDOWS:
        left = case.time_left(now)
        if left is None or left > DUE_WINDOWS[due] or case.status == "closed":
            return False
    return True


def _order(case: Case, now: datetime) -> tuple[Any, ...]:
    # Overdue first, then the nearest deadline, then the most urgent, then the oldest.
    deadline = case.deadline
    return (
        not case.overdue(now),
        deadline is None,
        deadline.timestamp() if deadline is not None else 0.0,
        URGENCY_ORDER.get(case.entry.routing.get("urgency", ""), len(URGENCY_ORDER)),
        case.entry.received_at,
    )


def _threaded(cases: list[Case]) -> tuple[list[Case], dict[str, int]]:
    """Requests and unmatched follow-ups; how many follow-ups each request has."""
    requests = [c for c in cases if c.entry.kind == REQUEST]
    follow_ups: dict[str, int] = {}
    shown: list[Case] = list(requests)
    for case in cases:
        if case.entry.kind != FOLLOW_UP:
            continue
        request_case = next((r for r in requests if same_thread(case.entry, r.entry)), None)
        if request_case is None:
            shown.append(case)
        else:
            key = request_case.entry.request_id
            follow_ups[key] = follow_ups.get(key, 0) + 1
    return shown, follow_ups


def inbox() -> Response:
    state = web_state()
    chosen = _filters()
    now = state.wall()
    try:
        cases = state.vault.cases()
    except Locked:
        return to_unlock()
    shown, follow_ups = _threaded(cases)
    listed = sorted((c for c in shown if _matches(c, chosen, now)), key=lambda c: _order(c, now))
    lang: str = g.lang
    return render(
        "inbox.html",
        cases=listed,
        total=len(shown),
        follow_ups=follow_ups,
        chosen=chosen,
        now=now,
        options=_options(cases, lang, team.members(state.settings.inbox)),
        category_name=lambda value: (
            category_name(value, lang) if value != FOLLOW_UP else gettext("Follow-up")
        ),
        label=lambda kind, value: label(kind, value, lang),
        time_left=lambda case: time_left_text(case, now, lang),
        status_name=status_name,
    )


def _options(cases: list[Case], lang: str, members: list[str]) -> dict[str, list[tuple[str, str]]]:
    """Each filter's choices: the known ones, and the regions this inbox holds."""
    regions = sorted({c.entry.routing.get("region", "") for c in cases} - {""})
    return {
        "category": [(c, category_name(c, lang)) for c in CATEGORIES]
        + [(FOLLOW_UP, gettext("Follow-up"))],
        "urgency": [(u, label("urgency", u, lang)) for u in URGENCIES],
        "region": [(r, label("region", r, lang)) for r in sorted(set(REGIONS) | set(regions))],
        "language": [(v, label("language", v, lang)) for v in LANGUAGES],
        "status": [(s, status_name(s)) for s in STATUSES],
        "assignee": [
            ("-", gettext("nobody")),
            *((m, m) for m in members),
            # A member who left with cases still theirs: those cases can be found and reassigned.
            *(
                (a, gettext("{member} (removed)", member=a))
                for a in sorted({c.assignee for c in cases if c.assignee} - set(members))
            ),
        ],
        "due": [
            ("overdue", gettext("Overdue")),
            ("24h", gettext("Due within 24 hours")),
            ("72h", gettext("Due within 72 hours")),
        ],
    }


def state() -> Response:
    """Counts, pull progress and idle time left for an open tab; not activity (no touch)."""
    web = web_state()
    session = current()
    pull = web.puller.snapshot()
    answer: dict[str, Any] = {"locked": session is None}
    if session is not None:
        try:
            new, overdue = counts(web.vault, web.wall())
        except Locked:
            return jsonify({"locked": True})
        answer.update(
            # Another tab of this session may have been busy: a page asks before it locks itself.
            idle_left=web.vault.idle_left(session),
            new=new,
            overdue=overdue,
            # The whole pull line, every round: the page shows what is true now.
            pull=pull_line(pull, g.lang),
        )
    return jsonify(answer)
