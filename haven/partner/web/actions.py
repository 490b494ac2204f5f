"""What a member does to a case: take or assign, status, note, reply, decline, export.

Every action is an event in the sealed log, in the acting member's name
and at the time it happened (haven.partner.inbox.Inbox.record); replies and
declines go through the same code as the CLI (haven.partner.outbox.send,
haven.partner.pull.decline_taken). Errors name the field and the reason,
never what was typed; the log gets the action and the id only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps

from flask import Flask, Response, abort, g, request

from haven.catalogs import N_
from haven.partner import team
from haven.partner.case import MAX_NOTE_CHARS, STATUSES, Case
from haven.partner.inbox import FOLLOW_UP, Inbox, InboxError, valid_id
from haven.partner.outbox import OutboxError, send
from haven.partner.pull import PullError, decline_taken
from haven.partner.web.case_view import case_page
from haven.partner.web.export import case_text, export_name
from haven.partner.web.pages import current, gettext, render, to_unlock
from haven.partner.web.present import DECLINE_REASONS, REQUESTER_STATES
from haven.partner.web.problems import decline_problem, reply_problem
from haven.partner.web.state import web_state
from haven.partner.web.vault import Locked, Session
from haven.replies import MAX_REPLY_CHARS, MAX_STATUS_CHARS, SigningKey

log = logging.getLogger(__name__)

Action = Callable[[Session, Inbox, Case], Response]


def register(app: Flask) -> None:
    for name, view in (
        ("assign", assign),
        ("status", set_status),
        ("note", note),
        ("reply", reply),
        ("decline", decline),
        ("export", export),
    ):
        app.add_url_rule(
            f"/cases/<request_id>/{name}", endpoint=f"case_{name}", view_func=view, methods=["POST"]
        )
    app.add_url_rule("/cases/<request_id>/export", view_func=export_confirm, methods=["GET"])


def _case_action(action: Action) -> Callable[[str], Response]:
    @wraps(action)
    def run(request_id: str) -> Response:
        session = current()
        if session is None:
            return to_unlock()
        if not valid_id(request_id):
            abort(404)
        state = web_state()
        try:
            inbox = state.vault.inbox(session)
            case = inbox.case(request_id)
        except Locked:
            return to_unlock()
        except (InboxError, KeyError):
            abort(404)
        if case.entry.declined is not None:
            abort(404)
        response = action(session, inbox, case)
        if response.status_code < 400:
            state.vault.changed()
            log.info("request %s: %s by a member", request_id, action.__name__)
        return response

    return run


def _done(session: Session, request_id: str, notice: str) -> Response:
    session.notice = notice
    return Response(status=303, headers={"Location": f"/cases/{request_id}"})


def _refuse(case: Case, message: str) -> Response:
    return case_page(case.entry.request_id, error=message, status=400)


@_case_action
def assign(session: Session, inbox: Inbox, case: Case) -> Response:
    to = request.form.get("to", "").strip()
    if to and to not in team.members(web_state().settings.inbox):
        return _refuse(case, gettext("Assign to: not a member of this team."))
    inbox.record("assigned", case.entry.request_id, to=to or None)
    return _done(session, case.entry.request_id, N_("Assignment saved."))


@_case_action
def set_status(session: Session, inbox: Inbox, case: Case) -> Response:
    status = request.form.get("status", "")
    if status not in STATUSES:
        return _refuse(case, gettext("Status: choose one of the listed statuses."))
    inbox.record("status", case.entry.request_id, status=status)
    return _done(session, case.entry.request_id, N_("Status saved."))


@_case_action
def note(session: Session, inbox: Inbox, case: Case) -> Response:
    text = request.form.get("text", "").replace("\r\n", "\n").strip()
    if not text:
        return _refuse(case, gettext("Note: write something first."))
    if len(text) > MAX_NOTE_CHARS:
        return _refuse(case, gettext("Note: at most {count} characters.", count=MAX_NOTE_CHARS))
    inbox.record("note", case.entry.request_id, text=text)
    return _done(session, case.entry.request_id, N_("Note added."))


def _reply_problem(text: str, requester_state: str | None) -> str | None:
    """What is wrong with a reply form, naming the field; None when it may be sent."""
    if requester_state is not None and requester_state not in REQUESTER_STATES:
        return gettext("Status for the requester: choose one of the listed.")
    if requester_state is None and not text:
        return gettext("Message: write something, or choose a status to send.")
    limit = MAX_REPLY_CHARS if requester_state is None else MAX_STATUS_CHARS
    if len(text) > limit:
        return gettext("Message: at most {count} characters.", count=limit)
    if web_state().settings.mailbox is None:
        return gettext("Replies cannot be sent: this inbox has no intake URL.")
    return None


@_case_action
def reply(session: Session, inbox: Inbox, case: Case) -> Response:
    state = web_state()
    text = request.form.get("text", "").replace("\r\n", "\n").strip()
    requester_state = request.form.get("state", "") or None
    problem = _reply_problem(text, requester_state)
    holder = state.vault.key_holder()
    if problem is not None or state.settings.mailbox is None or holder is None:
        return _refuse(case, problem or gettext("Something went wrong."))
    try:
        send(
            state.settings.mailbox,
            inbox,
            case.entry,
            state.settings.partner_id,
            SigningKey.from_partner_key(holder.key),
            state=requester_state,
            text=text,
        )
    except (OutboxError, InboxError) as exc:
        # The English line (the request id and the reason, never the text or the
        # mailbox) is for the log; the member reads it in their own language.
        log.warning("request %s: reply not sent (%s)", case.entry.request_id, exc)
        failed = reply_problem(exc)
        return _refuse(case, gettext(failed.msgid, **failed.values))
    return _done(session, case.entry.request_id, N_("Sent to the requester."))


@_case_action
def decline(session: Session, inbox: Inbox, case: Case) -> Response:
    state = web_state()
    reason = request.form.get("reason", "")
    if reason not in DECLINE_REASONS:
        return _refuse(case, gettext("Reason: choose one of the listed reasons."))
    if case.entry.kind == FOLLOW_UP:
        # It would go to the operators' unassigned queue, not to another organisation.
        return _refuse(case, gettext("A follow-up cannot be declined here."))
    if state.settings.broker is None:
        return _refuse(case, gettext("Cannot decline: this inbox has no broker URL."))
    try:
        decline_taken(state.settings.broker, inbox, case.entry.request_id, reason)
    except (PullError, InboxError) as exc:
        log.warning("request %s: not declined (%s)", case.entry.request_id, exc)
        failed = decline_problem(exc)
        return _refuse(case, gettext(failed.msgid, **failed.values))
    # The next partner has it now: its content leaves this process's memory too.
    state.vault.forget_opened()
    session.notice = N_("Declined: the request goes to the next partner.")
    return Response(status=303, headers={"Location": "/"})


def export_confirm(request_id: str) -> Response:
    """The warning before an export: the file is in clear, wherever it is saved."""
    if current() is None:
        return to_unlock()
    if not valid_id(request_id):
        abort(404)
    return render("export.html", request_id=request_id)


@_case_action
def export(session: Session, inbox: Inbox, case: Case) -> Response:
    if request.form.get("confirm") != "yes":
        return _refuse(case, gettext("Export: confirm that the file will be in clear."))
    try:
        text = case_text(inbox.case(case.entry.request_id), g.lang)
    except Locked:
        # The last session was locked while this one asked: nothing is exported.
        return to_unlock()
    inbox.record("exported", case.entry.request_id)
    response = Response(text, mimetype="text/plain")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{export_name(case.entry.request_id)}"'
    )
    return response
