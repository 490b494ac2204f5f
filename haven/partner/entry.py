"""One request or follow-up as the inbox gives it to the toolkit, and how follow-ups join threads.

A follow-up (docs/replies-v1.md section 5) is an entry of kind
"follow_up" whose content is the follow-up's plaintext (mailbox_id,
reply_key, text); it belongs to the thread of the request whose content
names the same mailbox id AND the same reply key (`same_thread`). A
follow-up is not signed, and the intake learns every mailbox id a partner
writes to, never a reply key: matching on both keeps a follow-up the
intake made up out of a requester's thread.

An entry lives in memory only, after the team inbox is unlocked
(haven.partner.team): at rest it is a sealed item and sealed events
(haven.partner.inbox).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from haven.envelope import is_message_id

REQUEST = "request"
FOLLOW_UP = "follow_up"
KINDS = (REQUEST, FOLLOW_UP)
# The automatic "received" status of a request with a mailbox.
PENDING = "pending"
SENT = "sent"
# The intake refused it for good (the requester deleted the mailbox, say).
REFUSED = "refused"
RECEIVED_STATES = (PENDING, SENT, REFUSED)


def _member(entry: Entry, name: str) -> bytes | None:
    value = entry.content.get(name)
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value, validate=True) or None
    except (binascii.Error, ValueError):
        return None


def same_thread(follow_up: Entry, request: Entry) -> bool:
    """Whether `follow_up` answers `request`: the same mailbox id and the same reply key.

    The mailbox id alone is not enough: the intake knows it (partners write
    to it) and could seal a follow-up naming it with a reply key of its own,
    to read the partner's answer. The reply key travels only inside
    envelopes, so only the requester (and the partners the request was
    sealed to) can name it.
    """
    if follow_up.kind != FOLLOW_UP or request.kind != REQUEST:
        return False
    mailbox, key = _member(follow_up, "mailbox_id"), _member(follow_up, "reply_key")
    return (
        mailbox is not None
        and key is not None
        and mailbox == _member(request, "mailbox_id")
        and key == _member(request, "reply_key")
    )


def valid_id(request_id: str) -> bool:
    # Ids name rows and, in an old plaintext inbox, files: only the 64 hex
    # digits of a digest, so nothing a sender controls can name a path.
    return is_message_id(request_id)


@dataclass(frozen=True)
class Entry:
    request_id: str
    received_at: str
    routing: Mapping[str, str]
    server_sealed: bool
    content: Mapping[str, Any]
    declined: str | None = None
    kind: str = REQUEST
    # Replies and statuses sent to the requester's mailbox: id, kind, state, text, sent_at.
    sent: tuple[Mapping[str, Any], ...] = ()
    received_status: str | None = None
    # When the router's time for this partner runs out (None: not known).
    deadline: datetime | None = None

    @property
    def mailbox(self) -> str | None:
        """The thread's mailbox id (base64, as in the content), if the requester gave one."""
        value = self.content.get("mailbox_id")
        return value if isinstance(value, str) else None

    def with_sent(self, message: Mapping[str, Any], *, received: bool = False) -> Entry:
        return replace(
            self,
            sent=(*self.sent, dict(message)),
            received_status=SENT if received else self.received_status,
        )

    def document(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.request_id,
            "kind": self.kind,
            "received_at": self.received_at,
            "routing": dict(self.routing),
            "server_sealed": self.server_sealed,
            "content": dict(self.content),
        }
        if self.declined is not None:
            out["declined"] = self.declined
        if self.sent:
            out["sent"] = [dict(message) for message in self.sent]
        if self.received_status is not None:
            out["received_status"] = self.received_status
        if self.deadline is not None:
            out["deadline"] = format_time(self.deadline)
        return out

    @classmethod
    def from_document(cls, data: Mapping[str, Any]) -> Entry:
        """An entry of the old plaintext inbox (<id>.json), read once to migrate it."""
        kind = str(data.get("kind", REQUEST))
        if kind not in KINDS:
            raise ValueError("unknown kind")
        received_status = data.get("received_status")
        if received_status not in (None, *RECEIVED_STATES):
            raise ValueError("unknown received status")
        return cls(
            request_id=str(data["id"]),
            received_at=str(data["received_at"]),
            routing={str(k): str(v) for k, v in dict(data["routing"]).items()},
            server_sealed=bool(data["server_sealed"]),
            content=dict(data["content"]),
            declined=str(data["declined"]) if data.get("declined") is not None else None,
            kind=kind,
            sent=tuple(dict(message) for message in data.get("sent", ())),
            received_status=received_status,
        )


def format_time(when: datetime) -> str:
    """UTC, to the second, with a Z: how every time in the inbox is written."""
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """The inverse of format_time; ValueError for anything else."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z")
