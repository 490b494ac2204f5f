"""What `haven partner serve` runs with: read once by the CLI, passed in whole."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from haven.partner.outbox import MailboxSettings
from haven.partner.pull import PartnerSettings

DEFAULT_IDLE_LOCK = 600.0
DEFAULT_PULL_EVERY = 60.0
LANGUAGES = ("ru", "uk", "en")


@dataclass(frozen=True)
class ServeSettings:
    inbox: Path
    partner_id: str
    # The partner's own broker user; None: the app does not pull (tests, a copy of an inbox).
    broker: PartnerSettings | None = None
    # Where replies and statuses go; None: they cannot be sent (the page says so).
    mailbox: MailboxSettings | None = None
    # Seconds without a request (other than /state) before a session is locked.
    idle_lock: float = DEFAULT_IDLE_LOCK
    pull_every: float = DEFAULT_PULL_EVERY
    # argv of the alerts hook (no shell), given one content-free line on stdin.
    alert_command: tuple[str, ...] = ()
    # None: the browser's Accept-Language chooses among LANGUAGES.
    language: str | None = None
    # Served over TLS: the session cookie is Secure and HSTS is sent.
    tls: bool = False

    def __post_init__(self) -> None:
        if self.idle_lock <= 0:
            raise ValueError("idle_lock must be positive")
        if self.pull_every <= 0:
            raise ValueError("pull_every must be positive")
        if self.language is not None and self.language not in LANGUAGES:
            raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
