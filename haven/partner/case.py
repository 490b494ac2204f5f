"""A case: one request (or follow-up) as the team works on it, folded from the event log.

The event log is both the audit log and the case state: every change a
member makes (a status, an assignment, a note, a message sent to the
requester) is one event with the member and the time, and a case's
current state is what its events say, oldest first. Nothing is ever
rewritten, so the history cannot disagree with the state.

Case statuses are the team's own workflow (any order allowed, each change
logged); what the requester sees is the status messages the team sends
(haven.partner.outbox.STATE_NAMES).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from haven.partner.entry import REFUSED, SENT, Entry

STATUSES = ("new", "in_progress", "waiting", "closed")
NEW = "new"
MAX_NOTE_CHARS = 4000

ACTIONS = frozenset(
    {
        "pulled",
        "declined",
        "status",
        "assigned",
        "note",
        "sent",
        "received_status",
        "viewed",
        "exported",
        "unlocked",
        "locked",
        "member_added",
        "member_removed",
        "migrated",
    }
)


@dataclass(frozen=True)
class Event:
    id: str
    seq: int
    action: str
    member: str
    at: datetime
    item: str | None
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Note:
    member: str
    at: datetime
    text: str


@dataclass(frozen=True)
class Case:
    entry: Entry
    status: str
    assignee: str | None
    notes: tuple[Note, ...]
    history: tuple[Event, ...]
    deadline: datetime | None

    def overdue(self, now: datetime) -> bool:
        """Past the router's deadline and nobody has started on it."""
        return self.deadline is not None and self.deadline < now and self.status == NEW

    def time_left(self, now: datetime) -> timedelta | None:
        return None if self.deadline is None else self.deadline - now


def fold_entry(entry: Entry, events: Iterable[Event]) -> Entry:
    """The entry with what was sent to its requester, as its events record it."""
    sent = list(entry.sent)
    received = entry.received_status
    for event in events:
        if event.action == "sent":
            message = dict(event.data.get("message", {}))
            sent.append(message)
            if event.data.get("received") or (
                message.get("kind") == "status" and message.get("state") == "received"
            ):
                received = SENT
        elif event.action == "received_status" and event.data.get("state") in (SENT, REFUSED):
            received = str(event.data["state"])
    return replace(entry, sent=tuple(sent), received_status=received)


def fold(entry: Entry, events: Iterable[Event]) -> Case:
    """The case of `entry` from its events (oldest first)."""
    history = tuple(events)
    status, assignee = NEW, None
    notes: list[Note] = []
    for event in history:
        if event.action == "status" and event.data.get("status") in STATUSES:
            status = str(event.data["status"])
        elif event.action == "assigned":
            to = event.data.get("to")
            assignee = str(to) if to is not None else None
        elif event.action == "note":
            notes.append(Note(event.member, event.at, str(event.data.get("text", ""))))
    return Case(
        entry=fold_entry(entry, history),
        status=status,
        assignee=assignee,
        notes=tuple(notes),
        history=history,
        deadline=entry.deadline,
    )
