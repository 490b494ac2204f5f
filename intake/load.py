"""The deployment's load as the difficulty sees it: acceptances per minute and the backlog.

Acceptances are counted in memory and added to the shared store every
SYNC_SECONDS by whichever request thread comes by first (no thread of our
own, nothing to restart after gunicorn forks); the same exchange reads the
deployment's total for the last minute. So an acceptance costs a lock and
an addition, never a database write, and every instance sees a flood that
the others accept within about two sync periods.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable

from haven.store import Acceptances, StoreUnavailable

log = logging.getLogger(__name__)

# The rate is the count over this window: long enough that a burst is not
# forgotten between two challenges, short enough to fall back within a
# minute or two once the flood stops.
WINDOW_SECONDS = 60
# How often one instance adds its count and reads the total: the lag before
# a flood raises the difficulty everywhere.
SYNC_SECONDS = 2.0


class AcceptanceRate:
    """Thread-safe; time comes in through `clock` (seconds, like time.time)."""

    def __init__(self, acceptances: Acceptances, *, clock: Callable[[], float]) -> None:
        self._acceptances = acceptances
        self._clock = clock
        self._lock = threading.Lock()
        self._syncing = threading.Lock()
        self._pending = 0
        self._deployment: int | None = None
        self._synced_at = float("-inf")
        self._away = False
        # This instance's own acceptances in the window (whole seconds), the
        # figure used while the store is away: a lower bound, never nothing.
        self._own: deque[int] = deque()

    def accepted(self) -> None:
        """One more submission published and confirmed by this instance."""
        now = int(self._clock())
        with self._lock:
            self._pending += 1
            self._restamp_future(now)
            self._own.append(now)

    def per_minute(self) -> int:
        """Submissions accepted across the deployment in the last WINDOW_SECONDS."""
        now = self._clock()
        # A clock stepped back (NTP, a restored VM) puts the last sync in the
        # future: sync at once, or this instance's acceptances would reach no
        # other instance for as long as the step.
        if self._due(now) and self._syncing.acquire(blocking=False):
            # One thread syncs; the others read the last figure meanwhile.
            try:
                # Asked again under the lock: another thread may have synced
                # between our look and our taking it, and two syncs back to
                # back would double the store's writes for nothing.
                now = self._clock()
                if self._due(now):
                    self._sync(now)
            finally:
                self._syncing.release()
        with self._lock:
            self._restamp_future(int(now))
            while self._own and self._own[0] < now - WINDOW_SECONDS:
                self._own.popleft()
            own, pending, deployment = len(self._own), self._pending, self._deployment
        if deployment is None:
            return own
        # What the store knew at the last sync plus what this instance has
        # accepted since (not yet added), never less than its own count.
        return max(own, deployment + pending)

    def _due(self, now: float) -> bool:
        """A sync period has passed, or the clock went back past the last sync."""
        return not 0 <= now - self._synced_at < SYNC_SECONDS

    def _restamp_future(self, now: int) -> None:
        """After the clock stepped back, count what it stamped ahead of it as accepted now.

        Otherwise those stamps stay in the window for as long as the step
        (an hour back, an hour at a rate that may be the ceiling's). Under
        self._lock; costs a copy only when the clock has gone back.
        """
        if self._own and self._own[-1] > now:
            self._own = deque(min(at, now) for at in self._own)

    def _sync(self, now: float) -> None:
        with self._lock:
            pending, self._pending = self._pending, 0
        try:
            # Stamped and windowed by the database's clock, not this instance's
            # (haven.store.acceptances): instances whose clocks differ still share one window.
            total = self._acceptances.add_and_sum(accepted=pending, window=WINDOW_SECONDS)
        except StoreUnavailable as exc:
            # Kept for the next sync; meanwhile this instance's own count stands.
            with self._lock:
                self._pending += pending
                self._deployment = None
            self._synced_at = now
            if not self._away:  # once per outage, not every sync
                log.warning("acceptance count not shared, the store is away: %s", exc)
            self._away = True
            return
        with self._lock:
            self._deployment = total
        self._synced_at, self._away = now, False
