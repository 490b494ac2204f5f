"""A token bucket per sender: how many forged declines the router will quarantine per minute.

Quarantine is for requests. A partner that publishes junk into
`haven.declines` could otherwise fill it until the broker's disk alarm
blocks every publisher (the intake included). Within the bound each forged
message is quarantined for operators to see; beyond it it is acked,
counted and logged with the sender's partner id only.

Keys are partner ids of the directory or `unknown`: a closed set, so the
buckets cannot grow without bound.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class DeclineBudget:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        # sender -> (tokens left, when last refilled); a full bucket holds a minute's worth.
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, sender: str) -> bool:
        """Spend one of `sender`'s tokens; False when none is left."""
        now = self._clock()
        tokens, then = self._buckets.get(sender, (float(self.per_minute), now))
        tokens = min(float(self.per_minute), tokens + (now - then) * self.per_minute / 60.0)
        if tokens < 1.0:
            self._buckets[sender] = (tokens, now)
            return False
        self._buckets[sender] = (tokens - 1.0, now)
        return True
