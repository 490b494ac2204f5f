"""The background pull: `haven partner pull` every few seconds while a member has the inbox open.

The same code as the CLI (haven.partner.pull.pull, then the automatic
"received" statuses), with the org key only while a session is unlocked:
a locked inbox does not pull, because nothing can open what arrives; it
only asks the broker how many requests wait (waiting.py), for the alert hook.

Two threads: the sweeper locks idle (and removed members') sessions every
second and reaps the alert hook, and nothing else, so a long pull or a slow
hook never holds the idle lock back; the puller pulls. A pull that sees
the inbox locked stops between two messages (what it took stays taken, the
rest stays in the queue) and uses the key no more.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from haven.partner.inbox import Inbox, InboxError
from haven.partner.outbox import send_pending_received
from haven.partner.pull import PullError, PullReport, pull
from haven.partner.web.alerts import Alerts
from haven.partner.web.problems import Problem, pull_problem, received_problem
from haven.partner.web.settings import ServeSettings
from haven.partner.web.vault import Locked, Vault
from haven.partner.web.waiting import WaitingError, waiting
from haven.replies import SigningKey

log = logging.getLogger(__name__)

SWEEP_SECONDS = 1.0


class _InboxLocked(Exception):  # noqa: N818 - a state, as the caller handles it
    """Raised between two messages when the key this pull uses was let go."""


@dataclass
class PullStatus:
    running: bool = False
    handled: int = 0
    remaining: int = 0
    last_pulled: datetime | None = None
    # What failed, as a catalog text (problems.py): the English detail is logged only.
    error: Problem | None = None


def counts(vault: Vault, now: datetime) -> tuple[int, int]:
    """(new, overdue) over every case; the only figures that leave the inbox (alerts, the tab title)."""
    cases = vault.cases()
    return (
        sum(1 for case in cases if case.status == "new"),
        sum(1 for case in cases if case.overdue(now)),
    )


class Puller:
    def __init__(
        self,
        vault: Vault,
        settings: ServeSettings,
        alerts: Alerts,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.vault = vault
        self.settings = settings
        self.alerts = alerts
        self.wall = wall
        self.status = PullStatus()
        self._lock = threading.Lock()
        self._pulling = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._next_pull = 0.0
        self._next_count = 0.0
        # The key of the pull under way: checked against the vault's between messages.
        self._pulling_with: object = None

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            s = self.status
            return {
                "running": s.running,
                "handled": s.handled,
                "remaining": s.remaining,
                "last_pulled": s.last_pulled,
                "error": s.error,
                "enabled": self.settings.broker is not None,
            }

    def _progress(self, report: PullReport) -> None:
        with self._lock:
            self.status.handled = report.handled
            self.status.remaining = report.remaining
        if self.vault.key_holder() is not self._pulling_with:
            # Locked (or locked and unlocked again) since this pull began:
            # it takes nothing more with a key the members let go.
            raise _InboxLocked

    def pull_once(self) -> PullReport | None:
        """One pull with the unlocked key; None when locked or when this app does not pull."""
        holder = self.vault.key_holder()
        broker = self.settings.broker
        if holder is None or broker is None or not self._pulling.acquire(blocking=False):
            return None
        self._pulling_with = holder
        try:
            with self._lock:
                self.status.running, self.status.handled, self.status.remaining = True, 0, 0
            inbox = Inbox(self.settings.inbox, holder)
            report = pull(broker, [holder.key], inbox, progress=self._progress)
            if self.vault.key_holder() is not holder:
                raise _InboxLocked
            received = send_pending_received(
                self.settings.mailbox,
                inbox,
                self.settings.partner_id,
                SigningKey.from_partner_key(holder.key),
            )
            if report.handled or received.sent:
                self.vault.changed()
            with self._lock:
                self.status.last_pulled = self.wall()
                self.status.error = received_problem(received)
            log.info("pulled: %s", report.line())
            for warning in received.warnings:
                log.warning("after the pull: %s", warning)
            return report
        except _InboxLocked:
            # What was taken is in the inbox; the rest waits in the queue.
            self.vault.changed()
            log.info("the pull stopped: the inbox was locked")
            return None
        except (PullError, InboxError) as exc:
            with self._lock:
                self.status.error = pull_problem(exc)
            log.warning("the pull failed: %s", exc)
            return None
        finally:
            self._pulling_with = None
            with self._lock:
                self.status.running = False
            self._pulling.release()
            self.alert()

    def alert(self) -> None:
        try:
            new, overdue = counts(self.vault, self.wall())
        except (Locked, InboxError):
            return
        self.alerts.update(new, overdue)

    # -- the threads -----------------------------------------------------------

    def start(self) -> None:
        """Start the sweeper and the puller threads once, in the serving process."""
        with self._lock:
            if self._threads:
                return
            self._threads = [
                threading.Thread(target=self._loop, args=(self._sweep,), name="inbox-sweeper"),
                threading.Thread(target=self._loop, args=(self._pull,), name="inbox-puller"),
            ]
        for thread in self._threads:
            thread.daemon = True
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)
        self.alerts.stop()

    def _loop(self, round_: Callable[[], None]) -> None:
        while not self._stop.wait(SWEEP_SECONDS):
            try:
                round_()
            except Exception as exc:  # noqa: BLE001 - the idle lock must outlive any one failure
                # The type only: a message could name a file or an id.
                log.warning("a background round failed (%s)", type(exc).__name__)

    def _sweep(self) -> None:
        self.vault.sweep()
        self.alerts.reap()

    def count_waiting(self) -> int | None:
        """While locked: alert how many requests wait in the queue; None when not asked."""
        broker = self.settings.broker
        if broker is None or not self.alerts.command or self.vault.is_unlocked:
            return None
        try:
            count = waiting(broker)
        except WaitingError as exc:
            log.warning("the queue could not be counted: %s", exc)
            return None
        self.alerts.waiting(count)
        return count

    def _pull(self) -> None:
        now = self.vault.clock()
        if not self.vault.is_unlocked:
            self._next_pull = 0.0
            if now >= self._next_count:
                self._next_count = now + self.settings.pull_every
                self.count_waiting()
            return
        self._next_count = 0.0
        if now >= self._next_pull:
            self._next_pull = now + self.settings.pull_every
            self.pull_once()
