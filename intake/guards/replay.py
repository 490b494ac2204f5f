"""Recently accepted request ids, so a replayed submission is not published again.

A solved submission stays valid for as long as its challenge does: without
this, one payment of work could be replayed hundreds of times, each replay a
persistent 100 KB message that raises the queue depth (so the difficulty for
everyone) and fills the broker's disk. Within the window the intake answers
a repeat as it answered the first (202, same id) and publishes nothing.

In memory only, and only ids (the envelope's digest, which the broker holds
anyway): nothing here names who sent what.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

# About 100 bytes an entry: at most ~10 MB, and room for more accepted
# requests per challenge lifetime than the broker's confirms allow.
DEFAULT_CAPACITY = 100_000


class RecentRequests:
    """A bounded, thread-safe set of request ids, each forgotten `window` seconds after it was added."""

    def __init__(
        self, *, window: float, clock: Callable[[], float], capacity: int = DEFAULT_CAPACITY
    ) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self._window = window
        self._clock = clock
        self._capacity = capacity
        self._lock = threading.Lock()
        # Insertion order is time order: the oldest entry is always first.
        self._added: OrderedDict[str, float] = OrderedDict()

    def __len__(self) -> int:
        with self._lock:
            return len(self._added)

    def __contains__(self, request_id: object) -> bool:
        with self._lock:
            self._expire(self._clock())
            return request_id in self._added

    def add(self, request_id: str) -> None:
        """Remember `request_id` from now; only after the broker has confirmed it."""
        with self._lock:
            now = self._clock()
            self._expire(now)
            # A repeat does not extend its window: the window only has to
            # outlive the challenge that paid for the first acceptance.
            self._added.setdefault(request_id, now)
            # Bounded memory whatever the rate: past capacity the oldest go
            # first (a replay of those is published again, as without this cache,
            # and the worker still drops it by id).
            while len(self._added) > self._capacity:
                self._added.popitem(last=False)

    def claim(self, request_id: str) -> bool:
        """Remember `request_id` from now if it is not remembered yet; whether it was not.

        One step under the lock: of two requests claiming the same id at
        once, exactly one gets True (a check then an add would let both
        through).
        """
        with self._lock:
            now = self._clock()
            self._expire(now)
            if request_id in self._added:
                return False
            self._added[request_id] = now
            while len(self._added) > self._capacity:
                self._added.popitem(last=False)
            return True

    def forget(self, request_id: str) -> None:
        """Forget a claim whose request was not answered (the store was away): it may come again."""
        with self._lock:
            self._added.pop(request_id, None)

    def _expire(self, now: float) -> None:
        while self._added:
            oldest = next(iter(self._added.values()))
            if now - oldest < self._window:
                return
            self._added.popitem(last=False)
