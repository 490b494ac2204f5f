"""Content-free alerts to the team: the organisation's own hook, given one line like "3 new, 1 overdue".

The hook is a command (a mail or chat bot) run without a shell, with the
line on its standard input, only when the counts change. The line holds two
numbers and nothing else: no category, region, language or id, so a chat
service or a mail provider learns only that there is work.
"""

from __future__ import annotations

import logging
import subprocess
import threading

log = logging.getLogger(__name__)

HOOK_TIMEOUT = 30.0


def alert_line(new: int, overdue: int) -> str:
    return f"{new} new, {overdue} overdue"


class Alerts:
    def __init__(self, command: tuple[str, ...]) -> None:
        self.command = command
        self._last: tuple[int, int] | None = None
        self._lock = threading.Lock()

    def update(self, new: int, overdue: int) -> bool:
        """Run the hook if the counts changed (and are not both zero the first time); whether it ran."""
        with self._lock:
            if not self.command or (new, overdue) == self._last:
                return False
            first = self._last is None
            self._last = (new, overdue)
            if first and new == 0 and overdue == 0:
                return False
        try:
            done = subprocess.run(  # noqa: S603 - argv from the operator's own --alert-command
                self.command,
                input=(alert_line(new, overdue) + "\n").encode(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=HOOK_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.warning("the alert hook did not run (%s)", type(exc).__name__)
            return False
        if done.returncode != 0:
            log.warning("the alert hook exited %d", done.returncode)
        return True
