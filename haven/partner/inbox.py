"""A partner's local inbox: one file per request, named by its id, written whole or not at all.

Layout of the inbox folder (mode 0700; every file 0600, because these are
requests in clear on the partner's own machine):

    <id>.json             the opened request or follow-up: routing labels,
                          content, when it arrived, what was sent back
    sealed/<id>.env       the envelope as received (still sealed), kept so that
    sealed/<id>.headers   a request accepted by mistake can still be declined
    declined/<id>.json    requests this partner declined: id, labels, reason,
                          and no content (the next partner has it now)

A follow-up (docs/replies-v1.md section 5) is an entry of kind
"follow_up" whose content is the follow-up's plaintext (mailbox_id,
reply_key, text); it belongs to the thread of the request whose content
names the same mailbox id. Messages sent to a requester's mailbox (replies
and statuses) are recorded in the entry they answer, under "sent"; a request
with a mailbox also records whether its automatic "received" status has
reached the intake ("received_status": "pending", "sent", or "refused" when
the intake refused it for good), so that a pull after an intake outage
sends it.

The request file is the commit point: it is written last, atomically, and
its existence is what makes a second delivery of the same id a duplicate.
A crash before it leaves at most stray sealed files, which the next pull
overwrites.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from haven.envelope import is_message_id
from haven.files import replace_atomically

_MAX_FILE = 1 << 20

REQUEST = "request"
FOLLOW_UP = "follow_up"
KINDS = (REQUEST, FOLLOW_UP)
# The automatic "received" status of a request with a mailbox.
PENDING = "pending"
SENT = "sent"
# The intake refused it for good (the requester deleted the mailbox, say).
REFUSED = "refused"


class InboxError(Exception):
    """The inbox cannot be read or written; the message names the file, never its content."""


def valid_id(request_id: str) -> bool:
    # Ids become file names: only the 64 hex digits of a digest, so nothing
    # a sender controls can name a path outside the inbox.
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
        return out

    @classmethod
    def from_document(cls, data: Mapping[str, Any]) -> Entry:
        kind = str(data.get("kind", REQUEST))
        if kind not in KINDS:
            raise ValueError("unknown kind")
        received_status = data.get("received_status")
        if received_status not in (None, PENDING, SENT, REFUSED):
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


class Inbox:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.sealed = root / "sealed"
        self.declined = root / "declined"

    def create(self) -> Inbox:
        try:
            for folder in (self.root, self.sealed, self.declined):
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)
                os.chmod(folder, 0o700)
        except OSError as exc:
            raise InboxError(f"cannot create the inbox {self.root}: {exc.strerror}") from None
        return self

    def _path(self, request_id: str, folder: Path | None = None, suffix: str = ".json") -> Path:
        if not valid_id(request_id):
            raise InboxError("not a request id (64 hex digits)")
        return (folder or self.root) / f"{request_id}{suffix}"

    def has(self, request_id: str) -> bool:
        """Taken or declined before: a second delivery of this id is a duplicate."""
        return self._path(request_id).exists() or self._path(request_id, self.declined).exists()

    def store(self, entry: Entry, envelope: bytes, headers: Mapping[str, object]) -> None:
        """Keep the sealed copy, then the opened request (the commit point)."""
        try:
            replace_atomically(self._path(entry.request_id, self.sealed, ".env"), envelope)
            replace_atomically(
                self._path(entry.request_id, self.sealed, ".headers"),
                json.dumps(dict(headers), sort_keys=True).encode(),
            )
            replace_atomically(
                self._path(entry.request_id),
                json.dumps(entry.document(), ensure_ascii=False, indent=1).encode(),
            )
        except OSError as exc:
            raise InboxError(f"cannot write to the inbox {self.root}: {exc.strerror}") from None

    def update(self, entry: Entry) -> None:
        """Rewrite an entry already in the inbox (what was sent back to its requester)."""
        path = self._path(entry.request_id)
        if not path.exists():
            raise InboxError("no such request in the inbox")
        try:
            replace_atomically(
                path, json.dumps(entry.document(), ensure_ascii=False, indent=1).encode()
            )
        except OSError as exc:
            raise InboxError(f"cannot write to the inbox {self.root}: {exc.strerror}") from None

    def thread(self, mailbox: str) -> list[Entry]:
        """The requests and follow-ups of one mailbox, oldest first."""
        return [entry for entry in self.entries() if entry.mailbox == mailbox]

    def _load(self, path: Path) -> Entry:
        try:
            with path.open("rb") as handle:
                data = handle.read(_MAX_FILE)
            return Entry.from_document(json.loads(data))
        except FileNotFoundError:
            raise InboxError("no such request in the inbox") from None
        except OSError as exc:
            raise InboxError(f"cannot read {path.name}: {exc.strerror}") from None
        except (ValueError, KeyError, TypeError):
            raise InboxError(f"{path.name} is not an inbox entry") from None

    def entry(self, request_id: str) -> Entry:
        path = self._path(request_id)
        if not path.exists() and self._path(request_id, self.declined).exists():
            return self._load(self._path(request_id, self.declined))
        return self._load(path)

    def entries(self, *, declined: bool = False) -> Iterator[Entry]:
        folder = self.declined if declined else self.root
        if not folder.is_dir():
            return
        names = sorted(p for p in folder.glob("*.json") if valid_id(p.stem))
        loaded = [self._load(path) for path in names]
        yield from sorted(loaded, key=lambda e: (e.received_at, e.request_id))

    def sealed_copy(self, request_id: str) -> tuple[bytes, dict[str, object]]:
        """The envelope and routing headers as received, for a decline after acceptance."""
        try:
            envelope = self._path(request_id, self.sealed, ".env").read_bytes()
            headers = json.loads(self._path(request_id, self.sealed, ".headers").read_bytes())
        except FileNotFoundError:
            raise InboxError("the sealed copy of this request is missing") from None
        except (OSError, ValueError):
            raise InboxError("the sealed copy of this request cannot be read") from None
        if not isinstance(headers, dict):
            raise InboxError("the sealed copy of this request cannot be read")
        return envelope, headers

    def mark_declined(self, request_id: str, reason: str) -> None:
        """Move the request to declined/ with its reason; its content and sealed copy are deleted."""
        entry = self.entry(request_id)
        self.record_declined(entry, reason)

    def record_declined(self, entry: Entry, reason: str) -> None:
        """Remember a declined id (without content) so a redelivery of it is a duplicate."""
        request_id = entry.request_id
        # Without content: the next partner (or unassigned) has the request now.
        declined = Entry(
            request_id,
            entry.received_at,
            entry.routing,
            entry.server_sealed,
            {},
            declined=reason,
            kind=entry.kind,
        )
        try:
            replace_atomically(
                self._path(request_id, self.declined),
                json.dumps(declined.document(), ensure_ascii=False, indent=1).encode(),
            )
            self._path(request_id).unlink(missing_ok=True)
            for suffix in (".env", ".headers"):
                self._path(request_id, self.sealed, suffix).unlink(missing_ok=True)
        except OSError as exc:
            raise InboxError(f"cannot update the inbox {self.root}: {exc.strerror}") from None
