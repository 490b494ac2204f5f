"""When to try the broker again after it went away: exponential backoff with jitter.

Kept apart from the consumer so the policy is tested (and tuned) without a
broker. Jitter spreads the reconnects of several routers after a broker
restart, so they do not all knock at once.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class BackoffPolicy:
    initial: float = 0.5
    maximum: float = 30.0
    factor: float = 2.0
    # Each wait is drawn from [wait * (1 - jitter), wait].
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if not 0 < self.initial <= self.maximum <= 3600:
            raise ValueError("backoff: need 0 < initial <= maximum <= 3600 seconds")
        if self.factor < 1 or not 0 <= self.jitter < 1:
            raise ValueError("backoff: need factor >= 1 and 0 <= jitter < 1")


class Backoff:
    """Successive waits of one reconnect episode; `reset` once a connection works."""

    def __init__(self, policy: BackoffPolicy, uniform: Callable[[], float] = random.random) -> None:
        self.policy = policy
        self._uniform = uniform
        self._attempt = 0

    def next_delay(self) -> float:
        base = min(self.policy.maximum, self.policy.initial * self.policy.factor**self._attempt)
        self._attempt += 1
        return base * (1 - self.policy.jitter * self._uniform())

    def reset(self) -> None:
        self._attempt = 0
