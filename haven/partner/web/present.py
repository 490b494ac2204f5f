"""Names and sentences a screen shows for the inbox's own values, in the member's language."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from haven.catalogs import N_
from haven.partner.case import Case, Event
from haven.partner.entry import REFUSED, SENT
from haven.partner.migrate import BEFORE_TEAM_INBOX
from haven.partner.web import i18n
from haven.partner.web.pages import gettext

STATUS_NAMES: Mapping[str, str] = {
    "new": N_("New"),
    "in_progress": N_("In progress"),
    "waiting": N_("Waiting for the requester"),
    "closed": N_("Closed"),
}
# What the requester's device shows (haven.partner.outbox.STATE_NAMES values).
REQUESTER_STATES: Mapping[str, str] = {
    "received": N_("Received"),
    "in_progress": N_("Being worked on"),
    "need_info": N_("More information needed"),
    "closed": N_("Closed"),
}
# The reasons a member may give (haven.broker.declines.REROUTE_REASONS, less the webhook's).
DECLINE_REASONS: Mapping[str, str] = {
    "not-our-work": N_("Not our kind of work"),
    "no-capacity": N_("No one free to take it now"),
    "language": N_("No one who speaks the language"),
    "region": N_("We cannot help in that region"),
    "conflict": N_("A conflict of interest"),
    "other": N_("Another reason"),
}


def status_name(status: str) -> str:
    return gettext(STATUS_NAMES.get(status, status))


def requester_state_name(state: str) -> str:
    return gettext(REQUESTER_STATES.get(state, state))


def member_name(member: str) -> str:
    """Who did it, as a history line shows it: a handle, or the old toolkit's marker translated."""
    return gettext(N_("(before the team inbox)")) if member == BEFORE_TEAM_INBOX else member


def time_left_text(case: Case, now: datetime, lang: str) -> str:
    left = case.time_left(now)
    if left is None:
        return gettext("no deadline")
    if left.total_seconds() < 0:
        return gettext("overdue by {time}", time=i18n.duration(left, lang))
    return gettext("{time} left", time=i18n.duration(left, lang))


def _status(data: Mapping[str, Any]) -> str:
    return gettext("Status set to “{status}”", status=status_name(str(data.get("status"))))


def _assigned(data: Mapping[str, Any]) -> str:
    to = data.get("to")
    return gettext("Assigned to {member}", member=to) if to else gettext("Unassigned")


def _sent(data: Mapping[str, Any]) -> str:
    message = data.get("message")
    state = message.get("state") if isinstance(message, Mapping) else None
    if state:
        return gettext(
            "Status “{state}” sent to the requester", state=requester_state_name(str(state))
        )
    return gettext("Reply sent to the requester")


# The automatic "received" status's outcomes (haven.partner.outbox SENT / REFUSED).
RECEIVED_OUTCOMES: Mapping[str, str] = {
    SENT: N_("sent"),
    REFUSED: N_("refused by the intake"),
}


def _received_status(data: Mapping[str, Any]) -> str:
    state = str(data.get("state"))
    return gettext(
        "Automatic “received” status: {state}",
        state=gettext(RECEIVED_OUTCOMES.get(state, state)),
    )


def _declined(data: Mapping[str, Any]) -> str:
    reason = str(data.get("reason", ""))
    return gettext("Declined: {reason}", reason=gettext(DECLINE_REASONS.get(reason, reason)))


_DESCRIBED: Mapping[str, Callable[[Mapping[str, Any]], str]] = {
    "status": _status,
    "assigned": _assigned,
    "sent": _sent,
    "received_status": _received_status,
    "declined": _declined,
}
_SIMPLE: Mapping[str, str] = {
    "pulled": N_("Received into the inbox"),
    "viewed": N_("Opened"),
    "note": N_("Internal note added"),
    "exported": N_("Exported as text"),
    "migrated": N_("Moved into the sealed inbox"),
}


def history_text(event: Event) -> str:
    """One line of a case's history: what was done, never the text of a note or a reply."""
    described = _DESCRIBED.get(event.action)
    if described is not None:
        return described(event.data)
    return gettext(_SIMPLE.get(event.action, event.action))
