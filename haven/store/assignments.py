"""Consumed routing assignments: each sealed assignment answers one decline or return, across every router.

A router consumes an assignment's nonce (worker.seal) when it honours a
decline or a dead-lettered return of it; the database's primary key
decides, so of two routers consuming the same nonce at once exactly one
is told it is new, and a replay that reaches another router, or comes
after a restart, is told it is used (worker.consumed holds the contract). A row is written
unsettled and marked settled once the router's onward publish is
confirmed. Only a hash of the nonce, whether it is settled, and the row's
expiry are kept.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from typing import Literal

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from haven.store.db import Store, StoreUnavailable
from haven.store.schema import consumed_assignments

# What consuming a nonce found (worker.consumed): new (consumed by this
# call), unsettled (consumed, its onward publish not confirmed yet, or
# never), settled (consumed and handed on).
Consumption = Literal["new", "unsettled", "settled"]

log = logging.getLogger(__name__)

# How often one router sweeps expired rows, and at most how many one sweep
# deletes: a sweep never holds a decline up for long, and 1000 a minute
# keeps up with far more declines than a network's partners send.
PURGE_EVERY = 60.0
PURGE_BATCH = 1000


def nonce_hash(nonce: bytes) -> bytes:
    """What is kept of a nonce: a domain-separated SHA-256, never the nonce a seal carries."""
    return hashlib.sha256(b"haven/v1 consumed assignment\x00" + nonce).digest()


class StoreConsumedAssignments:
    """`worker.consumed.ConsumedAssignments` on the deployment's store; time through the `clock` seam.

    `retention` is how many seconds a consumed nonce is remembered: past it,
    a replay of that assignment's decline would be honoured once more, so
    it must outlast any way the assignment can still come back (the
    router's settings choose it). consume() raises StoreUnavailable when
    the database cannot be reached: nothing is decided then.
    """

    def __init__(
        self,
        store: Store,
        *,
        retention: int,
        clock: Callable[[], float],
        purge_every: float = PURGE_EVERY,
        purge_batch: int = PURGE_BATCH,
    ) -> None:
        if retention < 1 or purge_batch < 1:
            raise ValueError("retention and purge_batch must be at least 1")
        self._store = store
        self._retention = retention
        self._clock = clock
        self._purge_every = purge_every
        self._purge_batch = purge_batch
        self._lock = threading.Lock()
        self._last_purge = float("-inf")

    def consume(self, nonce: bytes) -> Consumption:
        """ "new" the first time any router consumes `nonce`, then its state; StoreUnavailable."""
        self._purge_now_and_then()
        key = nonce_hash(nonce)
        expires_at = int(self._clock()) + self._retention
        try:
            with self._store.begin() as connection:
                connection.execute(
                    insert(consumed_assignments).values(
                        nonce_hash=key, expires_at=expires_at, settled=False
                    )
                )
        except IntegrityError:
            # The key is there: another router (or this one, before a
            # restart) already used this assignment up.
            with self._store.begin() as connection:
                settled = connection.execute(
                    select(consumed_assignments.c.settled).where(
                        consumed_assignments.c.nonce_hash == key
                    )
                ).scalar_one_or_none()
            # None: swept in between, long past any way it could come back.
            return "unsettled" if settled is False else "settled"
        return "new"

    def settle(self, nonce: bytes) -> None:
        """Mark `nonce` settled (its request was handed on); StoreUnavailable."""
        with self._store.begin() as connection:
            connection.execute(
                update(consumed_assignments)
                .where(consumed_assignments.c.nonce_hash == nonce_hash(nonce))
                .values(settled=True)
            )

    def purge(self) -> int:
        """Delete at most `purge_batch` rows past their expiry; how many went."""
        expired = (
            select(consumed_assignments.c.nonce_hash)
            .where(consumed_assignments.c.expires_at < int(self._clock()))
            .limit(self._purge_batch)
        )
        with self._store.begin() as connection:
            result = connection.execute(
                delete(consumed_assignments).where(consumed_assignments.c.nonce_hash.in_(expired))
            )
        return int(result.rowcount)

    def _purge_now_and_then(self) -> None:
        with self._lock:
            now = self._clock()
            if now - self._last_purge < self._purge_every:
                return
            self._last_purge = now
        try:
            self.purge()
        except StoreUnavailable:
            # A sweep that failed (a lock held by another router's sweep, a
            # timeout) is tried again next time; it must not fail the decline
            # that triggered it, which would spend one of its deliveries.
            log.warning("store: sweep of consumed assignments failed, retried later")
