"""Assignments already used up: each sealed assignment answers one decline or one return, once.

Every routing state a router seals carries a fresh nonce (worker.seal).
The router consumes that nonce when it acts on a decline or a
dead-lettered return of the assignment; a second message with the same
nonce is a replay (or the dead-lettered twin of a decline already
honoured) and re-routes nothing.

`ConsumedAssignments` is the interface. It must be shared by every router
of a deployment and survive restarts: a partner holds the sealed headers
of every request it was given and can publish its decline again, to
whichever router takes it, at any time. `haven.store.StoreConsumedAssignments`
keeps it in the deployment's database (the primary key decides, so one of
two routers racing on a nonce wins), for `HAVEN_ROUTER_CONSUMED_RETENTION`
(default 30 days, well past the longest partner deadline: worker.settings);
worker.main gives every router process that one.

`MemoryConsumedAssignments` is the in-process implementation for tests and
for embedding a router without a store: per router and bounded, so a
replay that reaches another router, or one that comes after a restart or
after `capacity` newer assignments, is not recognised by it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Protocol


class ConsumedAssignments(Protocol):
    def consume(self, nonce: bytes) -> bool:
        """True the first time `nonce` is consumed, False ever after; atomic.

        May raise when the record cannot be reached (the store's
        StoreUnavailable): nothing is decided then, and the router's
        consumer hands the delivery back to the broker.
        """
        ...


class MemoryConsumedAssignments:
    """Nonces consumed by this router; the oldest are forgotten first, so memory stays bounded."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._nonces: OrderedDict[bytes, None] = OrderedDict()
        # Atomic check-and-set: two threads consuming the same nonce must
        # not both see it as new.
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._nonces)

    def consume(self, nonce: bytes) -> bool:
        with self._lock:
            if nonce in self._nonces:
                return False
            self._nonces[nonce] = None
            while len(self._nonces) > self.capacity:
                self._nonces.popitem(last=False)
            return True
