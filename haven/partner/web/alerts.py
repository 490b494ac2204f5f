"""Content-free alerts to the team: the organisation's own hook, given one line like "3 new, 1 overdue".

The hook is a command (a mail or chat bot) run without a shell, with the
line on its standard input, only when the counts change. The line holds two
numbers and nothing else: no category, region, language or id, so a chat
service or a mail provider learns only that there is work.

The hook runs beside the app, never in its way: it is started and left
running (one at a time), reaped by the sweeper's rounds, and killed when it
outlives HOOK_TIMEOUT, so a slow mail server delays neither a pull nor the
idle lock.
"""

from __future__ import annotations

import logging
import os
import subprocess
import threading
import time

log = logging.getLogger(__name__)

HOOK_TIMEOUT = 30.0
# All the hook inherits: the app's own environment holds secrets (HAVEN_AMQP_URL
# carries the broker password) that a chat bot has no business reading.
HOOK_ENVIRONMENT = ("PATH", "LANG", "HOME")


def alert_line(new: int, overdue: int) -> str:
    return f"{new} new, {overdue} overdue"


def waiting_line(waiting: int) -> str:
    """While locked: only the broker's count of the partner's queue, nothing opened."""
    return f"{waiting} waiting (inbox locked)"


class Alerts:
    def __init__(self, command: tuple[str, ...], timeout: float = HOOK_TIMEOUT) -> None:
        self.command = command
        self.timeout = timeout
        self._last: tuple[object, ...] | None = None
        # A change seen while the hook ran: alerted once it ends (at reap).
        self._pending: tuple[tuple[object, ...], str | None, bool] | None = None
        self._lock = threading.Lock()
        # The hook still running, and when it started (time.monotonic: a timeout, not a lock).
        self._running: tuple[subprocess.Popen[bytes], float] | None = None

    def update(self, new: int, overdue: int) -> bool:
        """Start the hook if the counts changed (and are not both zero the first time); whether it started."""
        return self._offer(("counts", new, overdue), alert_line(new, overdue), new == overdue == 0)

    def waiting(self, count: int) -> bool:
        """While locked: start the hook if the queue's count changed and is above zero."""
        return self._offer(("waiting", count), waiting_line(count) if count > 0 else None, False)

    def _offer(self, state: tuple[object, ...], line: str | None, quiet_first: bool) -> bool:
        with self._lock:
            if not self.command:
                return False
            self._reap()
            if self._running is not None:
                # One hook at a time: this change is alerted after it ends.
                self._pending = None if state == self._last else (state, line, quiet_first)
                return False
            return self._start(state, line, quiet_first)

    def _start(self, state: tuple[object, ...], line: str | None, quiet_first: bool) -> bool:
        self._pending = None
        if state == self._last:
            return False
        first = self._last is None
        self._last = state
        if line is None or (first and quiet_first):
            return False
        try:
            hook = subprocess.Popen(  # noqa: S603 - argv from the operator's own --alert-command
                self.command,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env={n: os.environ[n] for n in HOOK_ENVIRONMENT if n in os.environ},
            )
        except OSError as exc:
            log.warning("the alert hook did not run (%s)", type(exc).__name__)
            return False
        self._running = (hook, time.monotonic())
        try:
            # A few bytes: the pipe takes them without waiting for the hook.
            if hook.stdin is not None:
                hook.stdin.write((line + "\n").encode())
                hook.stdin.close()
        except OSError:
            log.warning("the alert hook did not read its line")
        return True

    def reap(self) -> None:
        """Collect a finished hook (kill one running longer than the timeout), then alert a change it held back."""
        with self._lock:
            self._reap()
            if self._running is None and self._pending is not None:
                self._start(*self._pending)

    def busy(self) -> bool:
        """Whether a hook is still running (after reaping a finished one)."""
        with self._lock:
            self._reap()
            return self._running is not None

    def stop(self) -> None:
        """At shutdown: no hook outlives the app."""
        with self._lock:
            if self._running is not None:
                self._running[0].kill()
                self._running[0].wait()
                self._running = None
            self._pending = None

    def _reap(self) -> None:
        if self._running is None:
            return
        hook, started = self._running
        code = hook.poll()
        if code is None:
            if time.monotonic() - started < self.timeout:
                return
            hook.kill()
            hook.wait()
            log.warning("the alert hook ran longer than %g s and was stopped", self.timeout)
        elif code != 0:
            log.warning("the alert hook exited %d", code)
        self._running = None
