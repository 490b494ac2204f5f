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


class Failover:
    """Which broker node a long-running connection tries next, and how long to wait first.

    Nodes are tried in the configured order, starting at the first. After a
    failed attempt or a lost connection the next node is tried: a dead node
    is not knocked at again until every other one has had its turn. Within
    a round no wait: each attempt is already bounded by connect_timeout, and
    a live node should not wait behind a dead one. Only once every node has
    failed in a row does the backoff apply. After a lost connection the
    backoff's first (short) wait still comes before the next node: a
    connection that a broker closes as soon as it opens must not become a
    tight loop across the nodes. With one node this is exactly the backoff.
    """

    def __init__(self, nodes: int, backoff: Backoff) -> None:
        if nodes < 1:
            raise ValueError("failover: need at least one node")
        self.nodes = nodes
        self.backoff = backoff
        self.node = 0
        self._failed = 0
        self._up = False

    def connected(self) -> None:
        """The connection on `node` works: the next failure starts a fresh episode."""
        self.backoff.reset()
        self._failed = 0
        self._up = True

    def next_delay(self) -> float:
        """The attempt on `node` ended (failed, or the connection was lost): move on; the wait before trying."""
        self.node = (self.node + 1) % self.nodes
        if self._up:
            self._up = False
            return self.backoff.next_delay()
        self._failed += 1
        if self._failed < self.nodes:
            return 0.0
        self._failed = 0
        return self.backoff.next_delay()
