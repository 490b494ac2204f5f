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

import base64
import binascii
import hashlib
import hmac
import math
import os
import re
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from intake.guards.replay import RecentRequests

TICKET_VERSION = 1
# version u8 || issued_at u64 || 16 random bytes
_BODY = struct.Struct(">BQ16s")
_MAC_BYTES = 32
TICKET_BYTES = _BODY.size + _MAC_BYTES
# 57 bytes are exactly 76 base64url characters: one spelling per ticket.
TICKET_TEXT_LENGTH = 4 * TICKET_BYTES // 3
_TICKET_TEXT = re.compile(rf"[A-Za-z0-9_-]{{{TICKET_TEXT_LENGTH}}}\Z")
# The ticket key is derived, never the proof-of-work secret itself: a
# ticket's MAC can then never pass as a challenge's, nor the reverse.
_KEY_CONTEXT = b"haven/v1 nojs ticket key"
_MAC_CONTEXT = b"haven/v1 nojs ticket\x00"
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
        self._key = hmac.new(pow_secret, _KEY_CONTEXT, hashlib.sha256).digest()
        self._min_age = min_age
        self._max_age = max_age
        self._clock = clock
        self._random_bytes = random_bytes
        # A used ticket is remembered as long as it could still be valid;
        # after that it is too old anyway.
        self._used = RecentRequests(window=max_age, clock=clock)
        self._lock = threading.Lock()

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self._key, _MAC_CONTEXT + body, hashlib.sha256).digest()

    def issue(self) -> str:
        body = _BODY.pack(TICKET_VERSION, int(self._clock()), self._random_bytes(16))
        return base64.urlsafe_b64encode(body + self._mac(body)).decode("ascii")

    def redeem(self, text: str) -> None:
        """Accept `text` once, or raise TicketRejected saying why."""
        if not _TICKET_TEXT.match(text):
            raise TicketRejected("invalid")
        try:
            raw = base64.urlsafe_b64decode(text)
        except (binascii.Error, ValueError):
            raise TicketRejected("invalid") from None
        body, mac = raw[: _BODY.size], raw[_BODY.size :]
        # Constant time: a forger learns nothing from how fast a guess fails.
        if not hmac.compare_digest(mac, self._mac(body)):
            raise TicketRejected("invalid")
        version, issued_at, ticket_id = _BODY.unpack(body)
        if version != TICKET_VERSION:
            raise TicketRejected("invalid")
        age = self._clock() - issued_at
        if age < self._min_age:
            raise TicketRejected("too_young")
        if age > self._max_age:
            raise TicketRejected("too_old")
        key = ticket_id.hex()
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
