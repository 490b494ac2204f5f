"""The case screen: the request under its labels, deadline, history, notes, and the thread."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, abort, g

from haven.catalogs import N_
from haven.partner import team
from haven.partner.case import MAX_NOTE_CHARS, STATUSES, Case
from haven.partner.inbox import FOLLOW_UP, REQUEST, Entry, InboxError, same_thread, valid_id
from haven.partner.web import i18n
from haven.partner.web.pages import current, gettext, render, to_unlock
from haven.partner.web.present import (
    DECLINE_REASONS,
    REQUESTER_STATES,
    history_text,
    member_name,
    requester_state_name,
    status_name,
    time_left_text,
)
from haven.partner.web.readable import category_name, label, rows
from haven.partner.web.state import web_state
from haven.partner.web.vault import Locked
from haven.replies import MAX_REPLY_CHARS


def register(app: Flask) -> None:
    app.add_url_rule("/cases/<request_id>", view_func=case_page, methods=["GET"])


def parse_moment(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def thread_request(entry: Entry, cases: list[Case]) -> Entry | None:
    """The request this entry's thread hangs on: itself, or the request a follow-up matches."""
    if entry.kind == REQUEST:
        return entry
    return next((c.entry for c in cases if same_thread(entry, c.entry)), None)


def thread_items(entry: Entry, cases: list[Case]) -> list[dict[str, Any]]:
    """Follow-ups from the requester and what the team sent, oldest first."""
    request = thread_request(entry, cases)
    members = (
        [entry]
        if request is None
        else [
            c.entry
            for c in cases
            if c.entry.request_id == request.request_id or same_thread(c.entry, request)
        ]
    )
    if request is not None and all(e.request_id != entry.request_id for e in members):
        members.append(entry)
    items: list[dict[str, Any]] = []
    for member in members:
        if member.kind == FOLLOW_UP:
            items.append(
                {
                    "at": member.received_at,
                    "from_requester": True,
                    "id": member.request_id,
                    "title": gettext("Follow-up from the requester"),
                    "text": str(member.content.get("text", "")),
                }
            )
        for message in member.sent:
            state = message.get("state")
            title = (
                gettext("Status sent: {state}", state=requester_state_name(str(state)))
                if state
                else gettext("Reply sent")
            )
            items.append(
                {
                    "at": str(message.get("sent_at", "")),
                    "from_requester": False,
                    "id": member.request_id,
                    "title": title,
                    "text": str(message.get("text") or ""),
                }
            )
    items.sort(key=lambda item: item["at"])
    for item in items:
        item["when"] = i18n.when(parse_moment(item["at"]), g.lang)
    return items


CANNOT_OPEN = N_("This case cannot be opened: it is damaged, or a later version of Haven wrote it.")


def case_context(request_id: str, *, record_view: bool) -> dict[str, Any] | None:
    state = web_state()
    session = current()
    if session is None:
        raise Locked
    inbox = state.vault.inbox(session)
    try:
        case = inbox.case(request_id)
        # Only a case the inbox holds (not declined) is logged as viewed:
        # the log must not claim anyone saw what was handed on or never came.
        if case.entry.declined is not None:
            return None
        if record_view and request_id not in session.viewed:
            inbox.record("viewed", request_id)
            session.viewed.add(request_id)
            case = inbox.case(request_id)
    except (InboxError, KeyError):
        return None
    lang: str = g.lang
    now = state.wall()
    cases = state.vault.cases()
    entry = case.entry
    request = thread_request(entry, cases)
    answerable = request is not None and request.mailbox is not None
    return {
        "case": case,
        "entry": entry,
        "is_follow_up": entry.kind == FOLLOW_UP,
        "thread_request": request if request is not None and request is not entry else None,
        "rows": rows(entry.content, lang) if entry.kind == REQUEST else [],
        "follow_up_text": str(entry.content.get("text", "")) if entry.kind == FOLLOW_UP else "",
        "category": category_name(entry.routing.get("category", ""), lang)
        if entry.kind == REQUEST
        else gettext("Follow-up"),
        "routing": [
            (gettext("Region"), label("region", entry.routing.get("region", ""), lang)),
            (gettext("Language"), label("language", entry.routing.get("language", ""), lang)),
            (gettext("Urgency"), label("urgency", entry.routing.get("urgency", ""), lang)),
        ],
        "received": i18n.when(parse_moment(entry.received_at), lang),
        "deadline": i18n.when(case.deadline, lang),
        "time_left": time_left_text(case, now, lang),
        "overdue": case.overdue(now),
        "status_name": status_name(case.status),
        "history": [
            (i18n.when(event.at, lang), member_name(event.member), history_text(event))
            for event in case.history
        ],
        "notes": [(i18n.when(note.at, lang), note.member, note.text) for note in case.notes],
        "thread": thread_items(entry, cases),
        "members": team.members(state.settings.inbox),
        "statuses": [(s, status_name(s)) for s in STATUSES],
        "requester_states": [(s, gettext(n)) for s, n in REQUESTER_STATES.items()],
        "decline_reasons": [(r, gettext(n)) for r, n in DECLINE_REASONS.items()],
        "answerable": answerable,
        "can_send": answerable and state.settings.mailbox is not None,
        "can_decline": state.settings.broker is not None,
        "max_note": MAX_NOTE_CHARS,
        "max_reply": MAX_REPLY_CHARS,
    }


def case_page(request_id: str, error: str | None = None, status: int = 200) -> Response:
    if not valid_id(request_id):
        abort(404)
    try:
        context = case_context(request_id, record_view=error is None)
    except Locked:
        return to_unlock()
    if context is None:
        if _unreadable(request_id):
            return render("error.html", 200, message=gettext(CANNOT_OPEN))
        abort(404)
    return render("case.html", status, error=error, **context)


def _unreadable(request_id: str) -> bool:
    """Listed in the inbox, but it does not open (haven.partner.inbox)."""
    try:
        cases = web_state().vault.cases()
    except Locked:
        return False
    return any(c.entry.request_id == request_id and c.entry.unreadable for c in cases)
