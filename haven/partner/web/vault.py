"""The unlocked state of `haven partner serve`: members' sessions, the org key, the opened cases.

Invariants this module keeps (docs/partner-inbox.md, "Idle lock"):
- the org key (team.Unlocked) and every opened case live here only, in
  memory, and only while at least one member's session is unlocked;
- a session that made no request (other than /state) for `idle_lock`
  seconds is locked at the next look, by a request or the sweeper;
- when the last session is locked, the key and every opened case are dropped.

Sessions are random tokens known to the server only: nothing in the
cookie can be forged into another member's session.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from haven.partner import team
from haven.partner.case import Case
from haven.partner.inbox import Inbox, InboxError

log = logging.getLogger(__name__)

TOKEN_BYTES = 32


class Locked(Exception):  # noqa: N818 - a state, as the caller handles it
    """No unlocked session for this request."""


@dataclass
class Session:
    member: str
    token: str = field(repr=False)
    csrf: str = field(repr=False)
    last_active: float
    # A one-shot message for the next page: a catalog msgid, never request text.
    notice: str | None = None


class Vault:
    def __init__(self, root: Path, idle_lock: float, clock: Callable[[], float]) -> None:
        self.root = root
        self.idle_lock = idle_lock
        self.clock = clock
        self._lock = threading.RLock()
        self._unlocked: team.Unlocked | None = None
        self._sessions: dict[str, Session] = {}
        self._cases: list[Case] | None = None
        # One Inbox for reading: it keeps each envelope it opened (in memory),
        # so a change re-reads the rows without opening every request again.
        self._reader: Inbox | None = None
        # Bumped on every lock and cache drop: a reader that opened cases
        # before a lock does not put them back afterwards.
        self._generation = 0

    # -- unlocking and locking -------------------------------------------------

    def unlock(self, member: str, passphrase: str) -> Session:
        """A new session for `member`; team.TeamError when the member or passphrase is wrong."""
        unlocked = team.unlock(self.root, member, passphrase)
        token = secrets.token_urlsafe(TOKEN_BYTES)
        session = Session(member, token, secrets.token_urlsafe(TOKEN_BYTES), self.clock())
        with self._lock:
            if self._unlocked is None:
                self._unlocked = unlocked
            self._sessions[token] = session
        # team.unlock has logged "unlocked" in this member's name.
        log.info("a member unlocked the inbox (%d session(s))", len(self._sessions))
        return session

    def session(self, token: str | None, *, touch: bool) -> Session | None:
        """The live session of this cookie, or None; `touch` counts the request as activity."""
        if not token:
            return None
        self.sweep()
        with self._lock:
            found = next(
                (s for t, s in self._sessions.items() if hmac.compare_digest(t, token)), None
            )
            if found is not None and touch:
                found.last_active = self.clock()
            return found

    def lock(self, session: Session, *, idle: bool = False) -> None:
        with self._lock:
            if self._sessions.pop(session.token, None) is None:
                return
            last = not self._sessions
            unlocked = self._unlocked
        try:
            if unlocked is not None:
                # Logged before the key goes: the event is sealed under it.
                Inbox(self.root, replace(unlocked, member=session.member)).record(
                    "locked", idle=idle
                )
        except InboxError as exc:
            log.warning("the lock could not be logged (%s)", type(exc).__name__)
        finally:
            # Whatever the log said: a lock always lets the key and the cases go.
            if last:
                self._drop()
        log.info("a session was locked (%s)", "idle" if idle else "on demand")

    def sweep(self) -> None:
        """Lock every session idle for longer than `idle_lock` seconds."""
        now = self.clock()
        with self._lock:
            expired = [s for s in self._sessions.values() if now - s.last_active >= self.idle_lock]
        for session in expired:
            self.lock(session, idle=True)

    def _drop(self) -> None:
        with self._lock:
            if self._sessions:
                return
            self._unlocked = None
            self._cases = None
            self._reader = None
            self._generation += 1

    # -- what an unlocked session may use --------------------------------------

    @property
    def is_unlocked(self) -> bool:
        with self._lock:
            return self._unlocked is not None

    @property
    def sessions(self) -> int:
        with self._lock:
            return len(self._sessions)

    def key_holder(self) -> team.Unlocked | None:
        """The org key while any session is unlocked (the background pull uses it)."""
        with self._lock:
            return self._unlocked

    def inbox(self, session: Session | None = None) -> Inbox:
        """The inbox, with events recorded in this session's member's name."""
        with self._lock:
            unlocked = self._unlocked
        if unlocked is None:
            raise Locked
        if session is not None:
            unlocked = replace(unlocked, member=session.member)
        return Inbox(self.root, unlocked)

    def cases(self) -> list[Case]:
        """Every case, opened once and kept in memory until something changes or the lock."""
        with self._lock:
            if self._cases is not None:
                return self._cases
            if self._unlocked is None:
                raise Locked
            if self._reader is None:
                self._reader = Inbox(self.root, self._unlocked)
            reader, generation = self._reader, self._generation
        opened = reader.cases()
        with self._lock:
            if self._unlocked is None:
                raise Locked
            if self._generation == generation:
                self._cases = opened
            # Otherwise a write or a lock came in between: used once, not kept.
            return opened

    def changed(self) -> None:
        """Something was written: the cases are opened again at the next look."""
        with self._lock:
            self._cases = None
            self._generation += 1

    def forget_opened(self) -> None:
        """Drop every opened envelope (after a decline: that request's content goes too)."""
        with self._lock:
            self._reader = None
            self._cases = None
            self._generation += 1

    def holds_cases(self) -> bool:
        """Whether any opened request is held (the case list or the reader's envelopes)."""
        with self._lock:
            return self._cases is not None or self._reader is not None
