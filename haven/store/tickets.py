"""Used no-JavaScript tickets: single use across every intake instance of a deployment.

The database's primary key decides: of two instances inserting the same
hash at once, exactly one succeeds. Only the hash and its expiry are kept,
and a row goes once its ticket would be refused as too old anyway.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from typing import Literal

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from haven.store.db import Store
from haven.store.schema import used_tickets

TicketClaim = Literal["fresh", "reused"]
# How often one process sweeps expired rows: rarely enough to cost nothing,
# often enough that the table holds at most a ticket lifetime and a minute.
PURGE_EVERY = 60.0


def ticket_hash(ticket_id: bytes) -> bytes:
    """What is kept of a ticket: a domain-separated SHA-256 of its random id."""
    return hashlib.sha256(b"haven/v1 used ticket\x00" + ticket_id).digest()


class UsedTickets:
    """Claims ticket ids once; time comes in through the `clock` seam."""

    def __init__(self, store: Store, *, clock: Callable[[], float]) -> None:
        self._store = store
        self._clock = clock
        self._lock = threading.Lock()
        self._last_purge = float("-inf")

    def claim(self, ticket_id: bytes, *, expires_at: int) -> TicketClaim:
        """'fresh' the first time any instance claims `ticket_id`, 'reused' after; StoreUnavailable."""
        self._purge_now_and_then()
        try:
            with self._store.begin() as connection:
                connection.execute(
                    insert(used_tickets).values(
                        ticket_hash=ticket_hash(ticket_id), expires_at=expires_at
                    )
                )
        except IntegrityError:
            return "reused"
        return "fresh"

    def seen(self, ticket_id: bytes) -> bool:
        """Whether any instance has claimed `ticket_id` (a read: the claim itself still decides)."""
        with self._store.begin() as connection:
            row = connection.execute(
                select(used_tickets.c.expires_at).where(
                    used_tickets.c.ticket_hash == ticket_hash(ticket_id)
                )
            ).first()
        return row is not None

    def purge(self) -> int:
        """Delete every row whose ticket has expired; how many went."""
        with self._store.begin() as connection:
            result = connection.execute(
                delete(used_tickets).where(used_tickets.c.expires_at < int(self._clock()))
            )
        return int(result.rowcount)

    def _purge_now_and_then(self) -> None:
        with self._lock:
            now = self._clock()
            if now - self._last_purge < PURGE_EVERY:
                return
            self._last_purge = now
        self.purge()
