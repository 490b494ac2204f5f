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
from collections import OrderedDict
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
# Settled nonces this router remembers in memory, in front of the store: a
# replay of one costs no round trip before the per-partner bound applies.
# 2 × 32-byte hash plus dict overhead: about 20 MB at most.
SETTLED_CACHE = 100_000
# Settles kept for a later write while the store is away: each is written
# with the next settle, in one statement.
UNWRITTEN_SETTLES = 1000


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
        settled_cache: int = SETTLED_CACHE,
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
        # Hashes the store answered as settled, or this router settled. Safe
        # to answer from: a settled row never becomes unsettled, and past
        # its retention only refusing longer than the store would. Never an
        # unsettled answer (that one may still become settled). Bounded,
        # the oldest forgotten first; a forgotten one is asked of the store.
        self._settled: OrderedDict[bytes, None] = OrderedDict()
        self._settled_cache = settled_cache
        # Settles the store was away for, oldest first: written with the next
        # settle that reaches it (bounded; one past the bound stays known
        # here, in `_settled`, only).
        self._unwritten: OrderedDict[bytes, None] = OrderedDict()

    def consume(self, nonce: bytes) -> Consumption:
        """ "new" the first time any router consumes `nonce`, then its state; StoreUnavailable."""
        key = nonce_hash(nonce)
        with self._lock:
            if key in self._settled:
                self._settled.move_to_end(key)
                return "settled"
        self._purge_now_and_then()
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
            if settled is False:
                return "unsettled"
            # None: swept in between, long past any way it could come back.
            self._remember_settled(key)
            return "settled"
        return "new"

    def settle(self, nonce: bytes) -> None:
        """Mark `nonce` settled (its request was handed on); StoreUnavailable.

        Called only once the request is handed on, so this router remembers
        it settled even if the store is away: a replay of the decline that
        the broker redelivers (handed back during that very outage) is then
        refused here rather than honoured a second time. The write that
        failed is tried again with the next settle, so other routers learn
        it too once the store is back.
        """
        key = nonce_hash(nonce)
        self._remember_settled(key)
        with self._lock:
            self._unwritten[key] = None
            while len(self._unwritten) > UNWRITTEN_SETTLES:
                self._unwritten.popitem(last=False)
            keys = list(self._unwritten)
        with self._store.begin() as connection:
            connection.execute(
                update(consumed_assignments)
                .where(consumed_assignments.c.nonce_hash.in_(keys))
                .values(settled=True)
            )
        with self._lock:
            for written in keys:
                self._unwritten.pop(written, None)

    def _remember_settled(self, key: bytes) -> None:
        if self._settled_cache < 1:
            return
        with self._lock:
            self._settled[key] = None
            self._settled.move_to_end(key)
            while len(self._settled) > self._settled_cache:
                self._settled.popitem(last=False)

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
