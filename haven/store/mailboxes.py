"""The requesters' reply mailboxes (docs/replies-v1.md section 4), shared by every intake instance.

A mailbox holds the hash of its access secret, the partners' messages as on
the wire (sealed to the requester's reply key, signed by the partner), and
when it goes. Partners write (the first write, carrying the access hash,
makes the mailbox); the requester fetches and deletes with the access
secret, whose hash is compared in constant time. A wrong secret, an unknown
mailbox and an empty one are answered alike, by the same query.

Deletion is meant to be real: on SQLite every connection runs with
secure_delete and a deletion is followed by a checkpoint that empties the
write-ahead log (Store.forget_deleted_bytes); what PostgreSQL needs is in
docs/operators.md ("The store").
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Row, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from haven.store.db import Store, StoreUnavailable
from haven.store.schema import deleted_mailboxes, mailbox_messages, mailboxes

log = logging.getLogger(__name__)

MAILBOX_ID_BYTES = 32
ACCESS_HASH_BYTES = 32
MAX_MESSAGES = 100
# How often one instance sweeps expired mailboxes and markers.
PURGE_EVERY = 60.0
# Tries of one write that lost a race (another instance made the same
# mailbox, or stored the same message, at the same moment): the second try
# sees what the winner wrote and answers from it.
_WRITE_TRIES = 3
_MESSAGE_ID = re.compile(r"[0-9a-f]{64}")
# Compared with when there is no mailbox: the same comparison runs either way.
_NO_HASH = bytes(ACCESS_HASH_BYTES)


class WriteOutcome(enum.Enum):
    """What a partner's write found (the intake's answers: docs/replies-v1.md section 4.1)."""

    STORED = "stored"  # the message is in the mailbox (made by this write if it was new)
    ALREADY = "already"  # that exact message was there already; nothing changed
    UNKNOWN = "unknown"  # no such mailbox, and no access hash to make it with
    CONFLICT = "conflict"  # the access hash differs from the mailbox's
    FULL = "full"  # the mailbox holds the most messages it may
    GONE = "gone"  # its requester deleted it (within the retention)


def deleted_marker(mailbox_id: bytes) -> bytes:
    """What is kept of a deleted mailbox: SHA-256("haven/replies/v1 deleted mailbox" || 0x00 || id)."""
    return hashlib.sha256(b"haven/replies/v1 deleted mailbox\x00" + mailbox_id).digest()


class Mailboxes:
    """Writes, fetches, deletes and sweeps mailboxes; time comes in through the `clock` seam.

    Every method raises StoreUnavailable when the database cannot be
    reached: nothing was written then.
    """

    def __init__(
        self,
        store: Store,
        *,
        retention_seconds: int,
        max_messages: int = MAX_MESSAGES,
        clock: Callable[[], float] = time.time,
        purge_every: float = PURGE_EVERY,
    ) -> None:
        if retention_seconds < 1 or max_messages < 1:
            raise ValueError("retention_seconds and max_messages must be at least 1")
        self._store = store
        self._retention = retention_seconds
        self._max_messages = max_messages
        self._clock = clock
        self._purge_every = purge_every
        self._lock = threading.Lock()
        self._last_purge = float("-inf")
        self._purge_failed = False

    def write(
        self, mailbox_id: bytes, access_hash: bytes | None, message_id: str, wire: bytes
    ) -> WriteOutcome:
        """Store a partner's message (`wire`: the message as on the wire, JSON bytes).

        `access_hash` makes the mailbox when there is none, and must equal
        the stored one when it is given. Each stored message moves the
        mailbox's expiry to now plus the retention.
        """
        _check_length("mailbox_id", mailbox_id, MAILBOX_ID_BYTES)
        if access_hash is not None:
            _check_length("access_hash", access_hash, ACCESS_HASH_BYTES)
        if not _MESSAGE_ID.fullmatch(message_id):
            raise ValueError("message_id must be 64 lowercase hex characters")
        for _ in range(_WRITE_TRIES - 1):
            try:
                return self._write_once(mailbox_id, access_hash, message_id, wire)
            except IntegrityError:
                # Another instance made this mailbox or stored this message
                # between our look and our insert: look again.
                continue
        try:
            return self._write_once(mailbox_id, access_hash, message_id, wire)
        except IntegrityError:
            raise StoreUnavailable("the mailbox kept changing under this write") from None

    def _write_once(
        self, mailbox_id: bytes, access_hash: bytes | None, message_id: str, wire: bytes
    ) -> WriteOutcome:
        now = int(self._clock())
        expires_at = now + self._retention
        expired = False
        with self._store.begin(write=True) as connection:
            # Locked first (PostgreSQL): a delete of this mailbox running
            # now finishes before we look at the markers, so a write never
            # makes anew a mailbox that was deleted under it.
            row = _locked_mailbox(connection, mailbox_id)
            if _marked_deleted(connection, mailbox_id, now):
                return WriteOutcome.GONE
            if row is not None and row.expires_at < now:
                # Expired but not swept yet: as gone as if it had been.
                connection.execute(delete(mailboxes).where(mailboxes.c.mailbox_id == mailbox_id))
                row, expired = None, True
            if row is None:
                if access_hash is None:
                    return WriteOutcome.UNKNOWN
                connection.execute(
                    insert(mailboxes).values(
                        mailbox_id=mailbox_id, access_hash=access_hash, expires_at=expires_at
                    )
                )
            else:
                if access_hash is not None and not hmac.compare_digest(
                    bytes(row.access_hash), access_hash
                ):
                    return WriteOutcome.CONFLICT
                if _holds(connection, mailbox_id, message_id):
                    return WriteOutcome.ALREADY
                if _count(connection, mailbox_id) >= self._max_messages:
                    return WriteOutcome.FULL
            connection.execute(
                insert(mailbox_messages).values(
                    mailbox_id=mailbox_id, message_id=message_id, wire=wire, expires_at=expires_at
                )
            )
            # The whole thread lives as long as its last message: a requester
            # reading an active thread never finds its beginning gone.
            connection.execute(
                update(mailboxes)
                .where(mailboxes.c.mailbox_id == mailbox_id)
                .values(expires_at=expires_at)
            )
            connection.execute(
                update(mailbox_messages)
                .where(mailbox_messages.c.mailbox_id == mailbox_id)
                .values(expires_at=expires_at)
            )
        if expired:
            self._store.forget_deleted_bytes()
        return WriteOutcome.STORED

    def fetch(self, mailbox_id: bytes, access_hash: bytes) -> list[bytes]:
        """The mailbox's messages (wire JSON bytes), oldest first; [] for an unknown, wrong or empty one.

        One query whatever the answer, and the hash is compared in
        constant time even when there is no mailbox to compare with.
        """
        _check_length("mailbox_id", mailbox_id, MAILBOX_ID_BYTES)
        _check_length("access_hash", access_hash, ACCESS_HASH_BYTES)
        now = int(self._clock())
        with self._store.begin() as connection:
            rows = connection.execute(
                select(mailboxes.c.access_hash, mailboxes.c.expires_at, mailbox_messages.c.wire)
                .select_from(
                    mailboxes.outerjoin(
                        mailbox_messages, mailbox_messages.c.mailbox_id == mailboxes.c.mailbox_id
                    )
                )
                .where(mailboxes.c.mailbox_id == mailbox_id)
                .order_by(mailbox_messages.c.id)
            ).all()
        stored = bytes(rows[0].access_hash) if rows else _NO_HASH
        right = hmac.compare_digest(stored, access_hash)
        if not (right and rows and rows[0].expires_at >= now):
            return []
        return [bytes(row.wire) for row in rows if row.wire is not None]

    def delete(self, mailbox_id: bytes, access_hash: bytes) -> None:
        """With the right hash: delete the mailbox and its messages now, and mark it deleted.

        Anything else (a wrong hash, no such mailbox) changes nothing, and
        the caller answers the same. The marker lasts the retention, so a
        partner writing later is told the mailbox is gone.
        """
        _check_length("mailbox_id", mailbox_id, MAILBOX_ID_BYTES)
        _check_length("access_hash", access_hash, ACCESS_HASH_BYTES)
        now = int(self._clock())
        marker = deleted_marker(mailbox_id)
        with self._store.begin(write=True) as connection:
            # Locked (PostgreSQL): a partner's write in flight finishes
            # first, and its message goes with the rest.
            row = _locked_mailbox(connection, mailbox_id)
            stored = bytes(row.access_hash) if row is not None else _NO_HASH
            if not hmac.compare_digest(stored, access_hash) or row is None:
                return
            connection.execute(
                delete(mailbox_messages).where(mailbox_messages.c.mailbox_id == mailbox_id)
            )
            connection.execute(delete(mailboxes).where(mailboxes.c.mailbox_id == mailbox_id))
            # An expired marker of the same mailbox may still be there, unswept.
            connection.execute(
                delete(deleted_mailboxes).where(deleted_mailboxes.c.marker_hash == marker)
            )
            connection.execute(
                insert(deleted_mailboxes).values(
                    marker_hash=marker, expires_at=now + self._retention
                )
            )
        self._store.forget_deleted_bytes()

    def purge(self) -> int:
        """Delete every expired mailbox (with its messages) and marker; how many of them went."""
        now = int(self._clock())
        with self._store.begin(write=True) as connection:
            messages = connection.execute(
                delete(mailbox_messages).where(mailbox_messages.c.expires_at < now)
            ).rowcount
            boxes = connection.execute(
                delete(mailboxes).where(mailboxes.c.expires_at < now)
            ).rowcount
            markers = connection.execute(
                delete(deleted_mailboxes).where(deleted_mailboxes.c.expires_at < now)
            ).rowcount
        if messages or boxes or markers:
            self._store.forget_deleted_bytes()
        return int(boxes) + int(markers)

    def purge_now_and_then(self) -> None:
        """Sweep if the last sweep of this process is `purge_every` seconds old; never raises.

        Called by whichever request comes by (the intake has no thread of
        its own to restart after gunicorn forks). A sweep that fails is
        tried again next time.
        """
        with self._lock:
            now = self._clock()
            if 0 <= now - self._last_purge < self._purge_every:
                return
            self._last_purge = now
        try:
            self.purge()
        except StoreUnavailable as exc:
            if not self._purge_failed:  # once per outage, not every minute
                log.warning("store: sweep of expired mailboxes failed, retried later: %s", exc)
            self._purge_failed = True
            return
        self._purge_failed = False


def _check_length(name: str, value: bytes, length: int) -> None:
    if not isinstance(value, bytes) or len(value) != length:
        raise ValueError(f"{name} must be {length} bytes")


def _locked_mailbox(connection: Connection, mailbox_id: bytes) -> Row[Any, Any] | None:
    return connection.execute(
        select(mailboxes.c.access_hash, mailboxes.c.expires_at)
        .where(mailboxes.c.mailbox_id == mailbox_id)
        .with_for_update()
    ).first()


def _marked_deleted(connection: Connection, mailbox_id: bytes, now: int) -> bool:
    return (
        connection.execute(
            select(deleted_mailboxes.c.expires_at).where(
                deleted_mailboxes.c.marker_hash == deleted_marker(mailbox_id),
                deleted_mailboxes.c.expires_at >= now,
            )
        ).first()
        is not None
    )


def _holds(connection: Connection, mailbox_id: bytes, message_id: str) -> bool:
    return (
        connection.execute(
            select(mailbox_messages.c.id).where(
                mailbox_messages.c.mailbox_id == mailbox_id,
                mailbox_messages.c.message_id == message_id,
            )
        ).first()
        is not None
    )


def _count(connection: Connection, mailbox_id: bytes) -> int:
    return int(
        connection.execute(
            select(func.count())
            .select_from(mailbox_messages)
            .where(mailbox_messages.c.mailbox_id == mailbox_id)
        ).scalar_one()
    )
