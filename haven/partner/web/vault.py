"""The unlocked state of `haven partner serve`: members' sessions, the org key, the opened cases.

Invariants this module keeps (docs/partner-inbox.md, "Idle lock"):
- the org key (team.Unlocked) and every opened case live here only, in
  memory, and only while at least one member's session is unlocked;
- a session that made no request (other than /state) for `idle_lock`
  seconds is locked at the next look, by a request or the sweeper;
- a session whose member was removed from the team is locked at the next
  look, by a request or the sweeper;
- when the last session is locked, the key and every opened case are dropped.

Sessions are random tokens known to the server only: nothing in the
cookie can be forged into another member's session.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from haven.partner import db, team
from haven.partner.case import Case
from haven.partner.inbox import Inbox, InboxError
from haven.partner.web.security import TOKEN_BYTES, well_formed

log = logging.getLogger(__name__)


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
    # Cases this session has opened: the audit log says once per session
    # who opened a case, not again after each of their own actions on it.
    viewed: set[str] = field(default_factory=set, repr=False)


class Vault:
    def __init__(
        self,
        root: Path,
        idle_lock: float,
        clock: Callable[[], float],
        failed_unlock_delay: float = 0.0,
    ) -> None:
        self.root = root
        self.idle_lock = idle_lock
        self.clock = clock
        self.failed_unlock_delay = failed_unlock_delay
        self._lock = threading.RLock()
        # One unlock attempt at a time (each is a 128 MiB scrypt), and a pause
        # after a refusal: guessing passphrases costs at least that pause per guess.
        self._unlocking = threading.Lock()
        self._unlocked: team.Unlocked | None = None
        self._sessions: dict[str, Session] = {}
        self._cases: list[Case] | None = None
        # What the database looked like when _cases was opened (see _marker).
        self._cases_marker: tuple[int, int] | None = None
        # One Inbox for reading: it keeps each envelope it opened (in memory),
        # so a change re-reads the rows without opening every request again.
        self._reader: Inbox | None = None
        # Bumped on every lock and cache drop: a reader that opened cases
        # before a lock does not put them back afterwards.
        self._generation = 0

    # -- unlocking and locking -------------------------------------------------

    def unlock(self, member: str, passphrase: str) -> Session:
        """A new session for `member`; team.TeamError when the member or passphrase is wrong."""
        with self._unlocking:
            try:
                unlocked = team.unlock(self.root, member, passphrase)
            except team.TeamError:
                # Content-free: not the handle that was tried, nor where from.
                log.info("an unlock was refused")
                time.sleep(self.failed_unlock_delay)
                raise
        token = secrets.token_urlsafe(TOKEN_BYTES)
        session = Session(unlocked.member, token, secrets.token_urlsafe(TOKEN_BYTES), self.clock())
        with self._lock:
            if self._unlocked is None:
                self._unlocked = unlocked
            self._sessions[token] = session
        # team.unlock has logged "unlocked" in this member's name.
        log.info("a member unlocked the inbox (%d session(s))", len(self._sessions))
        return session

    def session(self, token: str | None, *, touch: bool) -> Session | None:
        """The live session of this cookie, or None; `touch` counts the request as activity."""
        if token is None or not well_formed(token):
            # Not a token this app made (a non-ASCII or odd cookie): no session, no crash.
            return None
        self.sweep()
        with self._lock:
            found = next(
                (s for t, s in self._sessions.items() if hmac.compare_digest(t, token)), None
            )
        if found is None:
            return None
        # Read at every request (a TeamError is the request's 503): a member
        # removed with `haven partner team remove` has no session from then on.
        if found.member not in team.members(self.root):
            self.lock(found, removed=True)
            return None
        if touch:
            with self._lock:
                found.last_active = self.clock()
        return found

    def idle_left(self, session: Session) -> float:
        """Seconds before this session is locked for idleness, as of now (no touch)."""
        with self._lock:
            return max(0.0, self.idle_lock - (self.clock() - session.last_active))

    def lock(self, session: Session, *, idle: bool = False, removed: bool = False) -> None:
        with self._lock:
            if self._sessions.pop(session.token, None) is None:
                return
            unlocked = self._unlocked
            if not self._sessions:
                # The last one: from this moment no request and no pull gets the
                # key or a case; only the lock's own log line below still uses it.
                self._drop()
        try:
            if unlocked is not None:
                # Sealed under the key this lock is letting go.
                inbox = Inbox(self.root, replace(unlocked, member=session.member))
                if removed:
                    inbox.record("locked", idle=idle, removed=True)
                else:
                    inbox.record("locked", idle=idle)
        except InboxError as exc:
            # Whatever the log said, the key and the cases are gone already.
            log.warning("the lock could not be logged (%s)", type(exc).__name__)
        log.info(
            "a session was locked (%s)",
            "member removed" if removed else "idle" if idle else "on demand",
        )

    def sweep(self) -> None:
        """Lock every session idle for `idle_lock` seconds, and every removed member's."""
        now = self.clock()
        with self._lock:
            expired = [s for s in self._sessions.values() if now - s.last_active >= self.idle_lock]
            left = [s for s in self._sessions.values() if s not in expired]
        for session in expired:
            self.lock(session, idle=True)
        if not left:
            return
        try:
            members = set(team.members(self.root))
        except team.TeamError as exc:
            # Unreadable now: each request reads it again (and fails closed, a 503).
            log.warning("the team could not be read (%s)", type(exc).__name__)
            return
        for session in left:
            if session.member not in members:
                self.lock(session, removed=True)

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
        """Every case, opened once and kept in memory until the database changes or the lock."""
        with self._lock:
            if self._unlocked is None:
                raise Locked
            if self._reader is None:
                self._reader = Inbox(self.root, self._unlocked)
            reader, generation = self._reader, self._generation
            cached, cached_marker = self._cases, self._cases_marker
        # Read at every look: a CLI pull, decline, reply or migration in another
        # process writes the same database, and must show here as soon as it is done.
        marker = self._marker()
        if cached is not None and cached_marker == marker:
            return cached
        opened = reader.cases()
        with self._lock:
            if self._unlocked is None:
                raise Locked
            if self._generation == generation:
                # The marker read before opening: a write in between only costs a re-read.
                self._cases, self._cases_marker = opened, marker
            # Otherwise a write or a lock came in between: used once, not kept.
            return opened

    def _marker(self) -> tuple[int, int]:
        """(last event seq, items): every write, from any process, records an event or an item."""
        try:
            with db.connect(self.root) as connection:
                seq, items = connection.execute(
                    "SELECT (SELECT coalesce(max(seq), 0) FROM events), (SELECT count(*) FROM items)"
                ).fetchone()
        except db.DatabaseError as exc:
            raise InboxError(str(exc)) from None
        return int(seq), int(items)

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
