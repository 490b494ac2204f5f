"""A team's local inbox: every request sealed at rest in one SQLite file, opened only after unlock.

The inbox folder (mode 0700) holds `inbox.sqlite` and nothing else
(haven.partner.db). Each request or follow-up is an item holding its
envelope as received and its routing labels, sealed under the
organisation's key (haven.partner.sealing); its content is opened from the
envelope in memory, with the same checks as the pull (haven.partner.opening),
when a member who unlocked the team (haven.partner.team) reads it. A
declined item keeps its id, labels and reason, never content nor envelope:
the next partner has the request now.

Everything that happens to an item after it arrives (taken, declined,
status, assignment, notes, messages sent to the requester, whether the
automatic "received" status reached the intake) is an event, sealed too,
with the member and the time: the audit log and the case state
(haven.partner.case) are the same rows.

Storing an item is the commit point of a pull: one transaction writes the
item and its "pulled" event, and its existence is what makes a second
delivery of the same id a duplicate.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from haven.envelope import OpenError
from haven.partner import db
from haven.partner.case import ACTIONS, MAX_NOTE_CHARS, STATUSES, Case, Event, fold, fold_entry
from haven.partner.entry import (
    FOLLOW_UP,
    KINDS,
    PENDING,
    RECEIVED_STATES,
    REFUSED,
    REQUEST,
    SENT,
    Entry,
    parse_time,
    same_thread,
    valid_id,
)
from haven.partner.migrate import plaintext_inbox
from haven.partner.opening import ContentRefused, open_item
from haven.partner.rows import (
    add_event,
    all_items,
    events,
    get_item,
    item_record,
    put_item,
    record_key,
)
from haven.partner.sealing import RecordKey, SealError
from haven.partner.team import Unlocked, plaintext_error

__all__ = [
    "FOLLOW_UP",
    "KINDS",
    "PENDING",
    "REFUSED",
    "REQUEST",
    "SENT",
    "Case",
    "Entry",
    "Event",
    "Inbox",
    "InboxError",
    "same_thread",
    "valid_id",
]


class InboxError(Exception):
    """The inbox cannot be read or written; the message names the id or field, never content."""


def _check_id(request_id: str) -> str:
    if not valid_id(request_id):
        raise InboxError("not a request id (64 hex digits)")
    return request_id


class Inbox:
    def __init__(self, root: Path, unlocked: Unlocked) -> None:
        if plaintext_inbox(root):
            raise InboxError(str(plaintext_error(root)))
        self.root = root
        self.unlocked = unlocked
        self._key: RecordKey | None = None
        # Opened contents, in memory only, dropped with the Inbox (a lock).
        self._opened: dict[str, dict[str, Any]] = {}

    def create(self) -> Inbox:
        """Check that the team inbox is there (`haven partner team init` creates it)."""
        with self._read():
            pass
        return self

    @contextlib.contextmanager
    def _read(self) -> Iterator[tuple[sqlite3.Connection, RecordKey]]:
        try:
            with db.connect(self.root) as connection:
                yield connection, self._record_key(connection)
        except (db.DatabaseError, SealError) as exc:
            raise InboxError(str(exc)) from None

    @contextlib.contextmanager
    def _write(self) -> Iterator[tuple[sqlite3.Connection, RecordKey]]:
        try:
            with db.transaction(self.root) as connection:
                yield connection, self._record_key(connection)
        except (db.DatabaseError, SealError) as exc:
            raise InboxError(str(exc)) from None

    def _record_key(self, connection: sqlite3.Connection) -> RecordKey:
        if self._key is None:
            self._key = record_key(connection, self.unlocked.key)
        return self._key

    # Items

    def has(self, request_id: str) -> bool:
        """Taken or declined before: a second delivery of this id is a duplicate."""
        _check_id(request_id)
        with self._read() as (connection, _):
            row = connection.execute("SELECT 1 FROM items WHERE id = ?", (request_id,))
            return row.fetchone() is not None

    def store(
        self,
        entry: Entry,
        envelope: bytes,
        headers: Mapping[str, object],
        *,
        deadline: datetime | None = None,
    ) -> None:
        """Keep the envelope (sealed again at rest) and a "pulled" event: one transaction."""
        _check_id(entry.request_id)
        entry = replace(entry, deadline=deadline) if deadline is not None else entry
        with self._write() as (connection, key):
            put_item(connection, key, entry.request_id, item_record(entry, envelope, headers))
            add_event(connection, key, "pulled", self.unlocked.member, entry.request_id)
        self._opened[entry.request_id] = dict(entry.content)

    def _content(self, item_id: str, record: Mapping[str, Any]) -> dict[str, Any]:
        if "content" in record:
            return dict(record["content"])
        if item_id not in self._opened:
            try:
                envelope = base64.b64decode(str(record.get("envelope", "")), validate=True)
                opened = open_item(envelope, [self.unlocked.key])
            except (binascii.Error, ValueError, OpenError, ContentRefused):
                raise InboxError("this request does not open with the team's key") from None
            self._opened[item_id] = opened.content
        return dict(self._opened[item_id])

    def _entry(self, item_id: str, record: Mapping[str, Any]) -> Entry:
        # As it arrived: what its events add is folded in by the callers.
        try:
            deadline = record.get("deadline")
            received = record.get("received_status")
            entry = Entry(
                request_id=item_id,
                received_at=str(record["received_at"]),
                routing={str(k): str(v) for k, v in dict(record["routing"]).items()},
                server_sealed=bool(record["server_sealed"]),
                content={},
                declined=str(record["declined"]) if record.get("declined") is not None else None,
                kind=str(record["kind"]) if record.get("kind") in KINDS else REQUEST,
                received_status=received if received in RECEIVED_STATES else None,
                deadline=parse_time(str(deadline)) if deadline is not None else None,
            )
        except (KeyError, ValueError, TypeError):
            raise InboxError(f"{item_id}: not an inbox item") from None
        if entry.declined is None:
            entry = replace(entry, content=self._content(item_id, record))
        return entry

    def _load(self, item_id: str) -> tuple[Entry, list[Event]]:
        _check_id(item_id)
        with self._read() as (connection, key):
            record = get_item(connection, key, item_id)
            if record is None:
                raise InboxError("no such request in the inbox")
            history = events(connection, key, item_id)
        return self._entry(item_id, record), history

    def entry(self, request_id: str) -> Entry:
        return fold_entry(*self._load(request_id))

    def _all(self) -> list[tuple[Entry, list[Event]]]:
        with self._read() as (connection, key):
            records = all_items(connection, key)
            log = events(connection, key)
        grouped: dict[str, list[Event]] = {}
        for event in log:
            if event.item is not None:
                grouped.setdefault(event.item, []).append(event)
        loaded = [
            (self._entry(item_id, record), grouped.get(item_id, []))
            for item_id, record in records.items()
        ]
        return sorted(loaded, key=lambda pair: (pair[0].received_at, pair[0].request_id))

    def entries(self, *, declined: bool = False) -> Iterator[Entry]:
        yield from (
            fold_entry(entry, history)
            for entry, history in self._all()
            if (entry.declined is not None) == declined
        )

    # Threads

    def request_of(self, follow_up: Entry) -> Entry | None:
        """The request a follow-up answers (`same_thread`), if it is in the inbox."""
        return next((e for e in self.entries() if same_thread(follow_up, e)), None)

    def thread(self, entry: Entry) -> list[Entry]:
        """The request `entry` belongs to and its follow-ups, oldest first.

        A follow-up that matches no request here stands alone: it may not
        come from the requester, and is never joined to anyone's thread.
        """
        request = entry if entry.kind == REQUEST else self.request_of(entry)
        if request is None:
            return [entry]
        return [
            e
            for e in self.entries()
            if e.request_id == request.request_id or same_thread(e, request)
        ]

    def contradicts_thread(self, follow_up: Entry) -> bool:
        """Whether a request here names this follow-up's mailbox but none its reply key.

        Such a follow-up writes in a requester's thread, in their name, with
        a key of its own: someone who knows the mailbox id (the intake's
        store, another partner) and would read an answer sealed to that key.
        A pull declines it; one taken by an older toolkit is never answered
        (`request_of` finds no request for it).
        """
        mailbox = follow_up.mailbox
        if mailbox is None or self.request_of(follow_up) is not None:
            return False
        return any(e.kind == REQUEST and e.mailbox == mailbox for e in self.entries())

    # Declines

    def sealed_copy(self, request_id: str) -> tuple[bytes, dict[str, object]]:
        """The envelope and routing headers as received, for a decline after acceptance."""
        _check_id(request_id)
        with self._read() as (connection, key):
            record = get_item(connection, key, request_id)
        if record is None:
            raise InboxError("no such request in the inbox")
        if record.get("envelope") is None:
            raise InboxError("the sealed copy of this request is missing")
        headers = record.get("headers")
        try:
            envelope = base64.b64decode(str(record["envelope"]), validate=True)
        except (binascii.Error, ValueError):
            raise InboxError("the sealed copy of this request cannot be read") from None
        return envelope, dict(headers) if isinstance(headers, dict) else {}

    def mark_declined(self, request_id: str, reason: str) -> None:
        """Keep only the id, labels and reason; the envelope and the content are deleted."""
        self.record_declined(self.entry(request_id), reason)

    def record_declined(self, entry: Entry, reason: str) -> None:
        """Remember a declined id (without content) so a redelivery of it is a duplicate."""
        _check_id(entry.request_id)
        # Without content: the next partner (or unassigned) has the request now.
        declined = Entry(
            entry.request_id,
            entry.received_at,
            entry.routing,
            entry.server_sealed,
            {},
            declined=reason,
            kind=entry.kind,
        )
        with self._write() as (connection, key):
            put_item(connection, key, entry.request_id, item_record(declined, None, None))
            add_event(
                connection,
                key,
                "declined",
                self.unlocked.member,
                entry.request_id,
                data={"reason": reason},
            )
        self._opened.pop(entry.request_id, None)

    # What was sent back

    def record_sent(
        self, entry: Entry, message: Mapping[str, Any], *, received: bool = False
    ) -> Entry:
        """Record a reply or status sent to the requester; the updated entry."""
        self.record("sent", entry.request_id, message=dict(message), received=received)
        return entry.with_sent(message, received=received)

    def set_received(self, entry: Entry, state: str) -> Entry:
        """Whether the automatic "received" status reached the intake (sent) or never will."""
        if state not in (SENT, REFUSED):
            raise InboxError("received_status: must be sent or refused")
        self.record("received_status", entry.request_id, state=state)
        return replace(entry, received_status=state)

    # Events and cases

    def _check(self, connection: sqlite3.Connection, action: str, data: Mapping[str, Any]) -> None:
        if action == "status" and data.get("status") not in STATUSES:
            raise InboxError(f"status: must be one of {', '.join(STATUSES)}")
        if action == "note":
            text = data.get("text")
            if not isinstance(text, str) or not text.strip():
                raise InboxError("note: must not be empty")
            if len(text) > MAX_NOTE_CHARS:
                raise InboxError(f"note: at most {MAX_NOTE_CHARS} characters")
        if action == "assigned":
            to = data.get("to")
            if to is not None and (
                not isinstance(to, str)
                or connection.execute("SELECT 1 FROM members WHERE handle = ?", (to,)).fetchone()
                is None
            ):
                raise InboxError("to: not a member of the team")

    def record(self, action: str, item: str | None = None, **data: Any) -> Event:
        """One event by the unlocked member, now: one transaction."""
        if action not in ACTIONS:
            raise InboxError("action: not an inbox action")
        if item is not None:
            _check_id(item)
        with self._write() as (connection, key):
            if item is not None:
                found = connection.execute("SELECT 1 FROM items WHERE id = ?", (item,))
                if found.fetchone() is None:
                    raise InboxError("no such request in the inbox")
            self._check(connection, action, data)
            return add_event(connection, key, action, self.unlocked.member, item, data=data)

    def events(self, item: str | None = None) -> list[Event]:
        """Oldest first: one item's, or every event (the audit log) for None."""
        if item is not None:
            _check_id(item)
        with self._read() as (connection, key):
            return events(connection, key, item)

    def case(self, request_id: str) -> Case:
        return fold(*self._load(request_id))

    def cases(self) -> list[Case]:
        """Every request and follow-up not declined, oldest first."""
        return [fold(entry, history) for entry, history in self._all() if entry.declined is None]
