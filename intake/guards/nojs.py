"""The no-JavaScript mode's guards: form tickets and the shared token bucket.

Without JavaScript no proof-of-work can be asked of the browser, so
(docs/web-form.md, "Without JavaScript"):

* every form page carries a ticket: an HMAC over its issue time and a
  random id, under a key derived from the proof-of-work secret (so every
  intake instance holding that secret accepts it). A send is accepted only
  with a ticket at least `min_age` old (a person filling a form takes
  longer; a script posting at once does not), at most `max_age` old, and
  never twice: the hash of its id goes into the deployment's store
  (haven.store), which every intake instance shares, until it expires;
* every server-sealed submission takes a token from a bucket, whose
  refill rate halves with each bit the proof-of-work difficulty rises
  over its floor. A share of it is reserved for patient tickets (issued
  at least `patient_age` ago, as a person's form is), and a ticket the
  bucket turns away is not used up: a script posting fresh tickets once a
  second drains the open share only, and a person who comes back with the
  same form draws on the reserved share. A flood through this path can
  delay other no-JavaScript requesters, never the JavaScript ones, and
  never grow the queue faster than the bucket.

Neither keeps anything about who asked: a ticket id is 16 random bytes.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from haven.store import UsedTickets
from intake.guards.signed import Purpose, SignedTokens, TokenInvalid

# version u8 || issued_at u64 || 16 random bytes (the ticket's id) || HMAC:
# 57 bytes, exactly 76 base64url characters, one spelling per ticket.
TICKET = Purpose(
    version=1,
    fields="",
    mac_context=b"haven/v1 nojs ticket\x00",
    # The ticket key is derived, never the proof-of-work secret itself: a
    # ticket's MAC can then never pass as a challenge's, nor the reverse.
    key_context=b"haven/v1 nojs ticket key",
)

# A bucket can never ask a requester to wait longer than this.
MAX_RETRY_AFTER = 3600

TicketProblem = Literal["invalid", "too_young", "too_old", "reused"]


class TicketRejected(Exception):  # noqa: N818 - reads as what the page answers
    """The form's ticket does not admit a server-sealed submission."""

    def __init__(self, problem: TicketProblem) -> None:
        super().__init__(f"ticket {problem}")
        self.problem = problem


@dataclass(frozen=True)
class Ticket:
    """A ticket whose MAC and age passed; not yet used."""

    ticket_id: bytes
    issued_at: int
    # Seconds until it is old enough to draw on the bucket's reserved share (0: it is).
    patient_in: int


class Tickets:
    """Issues, checks and uses form tickets; time and randomness come in through explicit seams."""

    def __init__(
        self,
        pow_secret: bytes,
        *,
        used: UsedTickets,
        min_age: int,
        max_age: int,
        patient_age: int,
        clock: Callable[[], float],
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self._tokens = SignedTokens(pow_secret, TICKET, random_bytes=random_bytes)
        self._used = used
        self._min_age = min_age
        self._max_age = max_age
        self._patient_age = patient_age
        self._clock = clock

    def issue(self) -> str:
        return self._tokens.issue(int(self._clock()))

    def carry(self, text: str) -> str:
        """`text` if it is a genuine ticket still young enough to send with, else a fresh one.

        One ticket rides through every page of a request (help choice, form,
        review, send), so that once it is spent every page posted with it
        again, by Back or reload, can be refused (see `spent`).
        """
        try:
            opened = self._tokens.open(text)
        except TokenInvalid:
            return self.issue()
        if self._clock() - opened.issued_at > self._max_age:
            return self.issue()
        return text

    def spent(self, text: str) -> bool:
        """Whether `text` is a genuine ticket already used, by any intake instance (reads the store).

        A browser keeps each posted page's body in its history and sends it
        again on Back: a request's answers, its kind of help. Once the
        ticket is spent, such a body must get a page that shows none of it.
        """
        try:
            opened = self._tokens.open(text)
        except TokenInvalid:
            return False
        return self._used.seen(opened.nonce)

    def check(self, text: str) -> Ticket:
        """The ticket in `text` if it could be used now, or TicketRejected saying why.

        Reads the store (StoreUnavailable): a ticket already used is refused
        here, before it can take a token from the bucket, so replaying one
        old ticket cannot drain the reserved share.
        """
        try:
            opened = self._tokens.open(text)
        except TokenInvalid:
            raise TicketRejected("invalid") from None
        age = self._clock() - opened.issued_at
        if age < self._min_age:
            raise TicketRejected("too_young")
        if age > self._max_age:
            raise TicketRejected("too_old")
        if self._used.seen(opened.nonce):
            raise TicketRejected("reused")
        return Ticket(
            opened.nonce, opened.issued_at, patient_in=max(0, math.ceil(self._patient_age - age))
        )

    def use(self, ticket: Ticket) -> None:
        """Use `ticket` up for every instance of the deployment, or raise TicketRejected('reused').

        The store's primary key decides between two sends of one ticket at
        the same moment (a double click, a script, two intake instances):
        exactly one passes.
        """
        # Kept for a full ticket lifetime from its use, not its issue: a
        # browser re-posts a sent page on Back or reload for as long as the
        # tab lives, and a purged row would show that page's request again.
        expires_at = int(self._clock()) + self._max_age + 1
        if self._used.claim(ticket.ticket_id, expires_at=expires_at) == "reused":
            raise TicketRejected("reused")


@dataclass(frozen=True)
class Admission:
    """A bucket's answer: admitted, or the seconds to wait before a token is there."""

    admitted: bool
    retry_after: int = 0


class TokenBucket:
    """One bucket; its size and refill shrink by half per `tightening` step."""

    def __init__(self, *, size: float, per_minute: float, clock: Callable[[], float]) -> None:
        self._size = size
        self._rate = per_minute / 60.0
        self._clock = clock
        self._lock = threading.Lock()
        # Full at start: never less than the one token the smallest share holds.
        self._tokens = max(1.0, float(size))
        self._last = clock()

    def take(self, tightening: int = 0) -> Admission:
        """Take one token; `tightening` is how many bits the proof-of-work stands above its floor."""
        factor = 2 ** max(0, tightening)
        rate = self._rate / factor
        capacity = max(1.0, self._size / factor)
        with self._lock:
            now = self._clock()
            elapsed = max(0.0, now - self._last)
            self._last = now
            self._tokens = min(capacity, self._tokens + elapsed * rate)
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return Admission(True)
            wait = math.ceil((1.0 - self._tokens) / rate)
        return Admission(False, min(MAX_RETRY_AFTER, max(1, wait)))


class SharedBucket:
    """The open share any valid ticket draws on, and the share reserved for patient tickets.

    `reserved_percent` of the size and of the refill rate is kept for
    tickets at least `patient_age` old: a script posting young tickets as
    fast as it may can exhaust the open share only, so a person whose form
    took a minute to fill in still finds tokens.
    """

    def __init__(
        self, *, size: int, per_minute: int, reserved_percent: int, clock: Callable[[], float]
    ) -> None:
        share = reserved_percent / 100
        self._open = (
            TokenBucket(size=size * (1 - share), per_minute=per_minute * (1 - share), clock=clock)
            if reserved_percent < 100
            else None
        )
        self._reserved = (
            TokenBucket(size=size * share, per_minute=per_minute * share, clock=clock)
            if reserved_percent > 0
            else None
        )

    def take(self, ticket: Ticket, tightening: int = 0) -> Admission:
        """A token for `ticket`: a patient one tries the reserved share first, then the open one."""
        patient = ticket.patient_in == 0
        shares = [self._reserved, self._open] if patient else [self._open]
        refusals = []
        for bucket in shares:
            if bucket is None:
                continue
            admission = bucket.take(tightening)
            if admission.admitted:
                return admission
            refusals.append(admission.retry_after)
        if not patient and self._reserved is not None:
            # A young ticket is told when it will be patient, if that is sooner.
            refusals.append(max(1, ticket.patient_in))
        return Admission(False, min(refusals) if refusals else MAX_RETRY_AFTER)
