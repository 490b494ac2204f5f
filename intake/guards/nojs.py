"""The no-JavaScript mode's guards: form tickets and the shared token bucket.

Without JavaScript no proof-of-work can be asked of the browser, so
(docs/web-form.md, "Without JavaScript"):

* every form page carries a ticket: an HMAC over its issue time and a
  random id, under a key derived from the proof-of-work secret (so every
  intake instance holding that secret accepts it). A send is accepted only
  with a ticket at least `min_age` old (a person filling a form takes
  longer; a script posting at once does not), at most `max_age` old, and
  never twice (its id is remembered, in memory, for `max_age`);
* every server-sealed submission takes a token from one bucket shared by
  the whole intake, whose refill rate halves with each bit the
  proof-of-work difficulty rises over its floor. A flood through this path
  can delay other no-JavaScript requesters, never the JavaScript ones, and
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

from intake.guards.replay import RecentRequests
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


class Tickets:
    """Issues and redeems form tickets; time and randomness come in through explicit seams."""

    def __init__(
        self,
        pow_secret: bytes,
        *,
        min_age: int,
        max_age: int,
        clock: Callable[[], float],
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self._tokens = SignedTokens(pow_secret, TICKET, random_bytes=random_bytes)
        self._min_age = min_age
        self._max_age = max_age
        self._clock = clock
        # A used ticket is remembered as long as it could still be valid;
        # after that it is too old anyway.
        self._used = RecentRequests(window=max_age, clock=clock)
        self._lock = threading.Lock()

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
        """Whether `text` is a genuine ticket already redeemed.

        A browser keeps each posted page's body in its history and sends it
        again on Back: a request's answers, its kind of help. Once the
        ticket is spent, such a body must get a page that shows none of it.
        """
        try:
            opened = self._tokens.open(text)
        except TokenInvalid:
            return False
        with self._lock:
            return opened.nonce.hex() in self._used

    def redeem(self, text: str) -> None:
        """Accept `text` once, or raise TicketRejected saying why."""
        try:
            opened = self._tokens.open(text)
        except TokenInvalid:
            raise TicketRejected("invalid") from None
        age = self._clock() - opened.issued_at
        if age < self._min_age:
            raise TicketRejected("too_young")
        if age > self._max_age:
            raise TicketRejected("too_old")
        key = opened.nonce.hex()
        # Check and remember in one step: two sends of one ticket at the same
        # moment (a double click, a script) cannot both pass.
        with self._lock:
            if key in self._used:
                raise TicketRejected("reused")
            self._used.add(key)


@dataclass(frozen=True)
class Admission:
    """A bucket's answer: admitted, or the seconds to wait before a token is there."""

    admitted: bool
    retry_after: int = 0


class TokenBucket:
    """One bucket for the whole intake; its size and refill shrink by half per `tightening` step."""

    def __init__(self, *, size: int, per_minute: int, clock: Callable[[], float]) -> None:
        self._size = size
        self._rate = per_minute / 60.0
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens = float(size)
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
