"""Assignments already used up: each sealed assignment answers one decline or one return, once.

Every routing state a router seals carries a fresh nonce (worker.seal).
The router consumes that nonce when it acts on a decline or a
dead-lettered return of the assignment; a second message with the same
nonce is a replay (or the dead-lettered twin of a decline already
honoured) and re-routes nothing.

Consumption is two-phase. `consume` records the nonce as taken but not yet
settled and answers "new"; the router calls `settle` once the onward
publish that carries the request on is confirmed, just before it acks the
decline or return. Asked again, the record answers "unsettled" or
"settled". Only the broker's own redelivery (its `redelivered` flag, which
no partner can set) of an *unsettled* assignment is honoured: that is a
router's unfinished work, handed back when it crashed or lost its
connection between consuming and its confirm. A redelivery of a *settled*
assignment is a replay (or this router's duplicate after a lost ack) whose
work was done: acked and counted, never routed again. Without the second
phase, a partner's replay that was handed back once (a store hiccup, a
lost connection) would come back redelivered and be honoured again.

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

from haven.store import Consumption


class ConsumedAssignments(Protocol):
    def consume(self, nonce: bytes) -> Consumption:
        """ "new" the first time `nonce` is consumed (recorded unsettled); after, its state; atomic.

        May raise when the record cannot be reached (the store's
        StoreUnavailable): nothing is decided then, and the router hands
        the delivery back to the broker after a delay.
        """
        ...

    def settle(self, nonce: bytes) -> None:
        """Mark a consumed `nonce` settled: its work was handed on. May raise as consume does."""
        ...


def honoured(consumption: Consumption, redelivered: bool) -> bool:
    """Whether a decline or return with this consumption is acted on.

    New, or a broker redelivery of an assignment consumed and never
    settled (a router's unfinished work). Never a settled one.
    """
    return consumption == "new" or (consumption == "unsettled" and redelivered)


class MemoryConsumedAssignments:
    """Nonces consumed by this router; the oldest are forgotten first, so memory stays bounded."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        # nonce -> settled
        self._nonces: OrderedDict[bytes, bool] = OrderedDict()
        # Atomic check-and-set: two threads consuming the same nonce must
        # not both see it as new.
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._nonces)

    def consume(self, nonce: bytes) -> Consumption:
        with self._lock:
            settled = self._nonces.get(nonce)
            if settled is not None:
                return "settled" if settled else "unsettled"
            self._nonces[nonce] = False
            while len(self._nonces) > self.capacity:
                self._nonces.popitem(last=False)
            return "new"

    def settle(self, nonce: bytes) -> None:
        with self._lock:
            if nonce in self._nonces:
                self._nonces[nonce] = True
