"""Stateless proof-of-work challenges bound to the envelope (docs/intake-api.md).

Abuse is priced in work, never answered by identifying anyone: Tor users
share exits, so there are no address-based limits. A challenge is a token
the intake authenticates with an HMAC; it keeps no record of what it issued.
The work is over the token *and the envelope's digest*, so one solution
cannot carry a second envelope; resubmitting the same envelope is the same
request (same id): the intake does not publish it again within a challenge
lifetime (intake.guards.replay), and the worker drops any later duplicate.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from intake.guards.signed import Purpose, SignedTokens, TokenInvalid

TOKEN_VERSION = 1
# version u8 || issued_at u64 || expires_at u64 || difficulty u8 || 16 random
# bytes || HMAC: the layout docs/intake-api.md gives and web/src/pow.js reads.
CHALLENGE = Purpose(
    version=TOKEN_VERSION,
    fields="QB",
    # Domain separation: under the proof-of-work secret itself, this MAC
    # signs only challenge bodies.
    mac_context=b"haven/v1 pow challenge\x00",
    key_context=None,
)
# 66 bytes are exactly 88 base64url characters: no padding, no spare bits,
# so every token has one spelling.
TOKEN_BYTES = CHALLENGE.size
TOKEN_TEXT_LENGTH = CHALLENGE.text_length

# A proof-of-work hash cannot be reused for anything else Haven hashes.
POW_CONTEXT = b"haven/v1 pow\x00"
ALGORITHM = (
    'SHA-256("haven/v1 pow" || 0x00 || base64url-decode(token) || SHA-256(envelope) '
    "|| ASCII(nonce)) has at least `difficulty` leading zero bits"
)

# The request header that carries the challenge token of a submission: it
# is checked (one HMAC) before a byte of the body is read or parsed, so a
# request that has not paid costs the intake nothing more.
CHALLENGE_HEADER = "Haven-Pow-Challenge"

# How far below the current difficulty a token may be and still be accepted,
# and for how long after it was issued: a challenge fetched just before the
# load rose by a bit (and solved on a slow phone over a slow Tor circuit)
# still counts; one priced two bits or more below (4 times less work, the
# whole range between the default floor and ceiling) does not, and the web
# form fetches a new one. Past SLACK_SECONDS a token must meet the current
# difficulty in full: a token may carry any number of envelopes for its
# whole lifetime, so a flood must not stock cheap tokens in a quiet minute
# and spend them once the price rose. 20 s covers a slow phone's floor
# solve (2.6 s expected, 12 s for one requester in a hundred) and a Tor
# round trip; every second more lets a flood that pre-solved floor
# envelopes keep spending them between the instances' syncs
# (docs/intake-api.md, "Tokens issued before a rise").
DIFFICULTY_SLACK = 1
SLACK_SECONDS = 20

Reason = Literal["invalid", "expired", "insufficient"]


class PowRejected(Exception):  # noqa: N818 - reads as what the intake answers: 403
    """The proof-of-work does not admit the submission."""

    def __init__(self, reason: Reason, field: str) -> None:
        super().__init__(f"proof-of-work {reason}")
        self.reason = reason
        self.field = field


@dataclass(frozen=True)
class Token:
    """A challenge token that passed every check but the work: authentic, current, hard enough."""

    raw: bytes
    difficulty: int


@dataclass(frozen=True)
class Challenge:
    token: str
    difficulty: int
    issued_at: int
    expires_at: int


def leading_zero_bits(data: bytes) -> int:
    return len(data) * 8 - int.from_bytes(data, "big").bit_length()


def pow_hash(token: bytes, envelope_digest: bytes, nonce: str) -> bytes:
    """The hash a solution is judged by; clients compute the same (docs/intake-api.md)."""
    return hashlib.sha256(POW_CONTEXT + token + envelope_digest + nonce.encode("ascii")).digest()


class ProofOfWork:
    """Issues and checks challenges; time and randomness come in through explicit seams."""

    def __init__(
        self,
        secret: bytes,
        *,
        lifetime: int,
        min_bits: int,
        clock: Callable[[], float],
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self._tokens = SignedTokens(secret, CHALLENGE, random_bytes=random_bytes)
        self._lifetime = lifetime
        self._min_bits = min_bits
        self._clock = clock

    def issue(self, difficulty: int) -> Challenge:
        now = int(self._clock())
        expires = now + self._lifetime
        return Challenge(self._tokens.issue(now, expires, difficulty), difficulty, now, expires)

    def admit(
        self,
        token_text: str,
        current_difficulty: Callable[[], int],
        *,
        field: str = "pow.challenge",
    ) -> Token:
        """The authentic, current token, or PowRejected naming `field`; no work over the envelope is done here.

        `current_difficulty` is what a challenge issued now would ask for; it
        is called only once the token is known to be ours.
        """
        try:
            opened = self._tokens.open(token_text)
        except TokenInvalid:
            raise PowRejected("invalid", field) from None
        expires, difficulty = opened.fields
        if self._clock() >= expires:
            raise PowRejected("expired", field)
        # A token issued under a lower floor (before the operator raised it),
        # or while the load was low, no longer buys a submission: otherwise
        # a flood could stock up cheap tokens and spend them once load rises.
        fresh = int(self._clock()) - opened.issued_at <= SLACK_SECONDS
        slack = DIFFICULTY_SLACK if fresh else 0
        if difficulty < max(self._min_bits, current_difficulty() - slack):
            raise PowRejected("insufficient", field)
        return Token(opened.raw, difficulty)

    def check_work(self, token: Token, nonce: str, envelope_digest: bytes) -> None:
        """Raise PowRejected unless `nonce` solves the admitted `token` for this envelope."""
        if leading_zero_bits(pow_hash(token.raw, envelope_digest, nonce)) < token.difficulty:
            raise PowRejected("insufficient", "pow.nonce")

    def verify(
        self,
        token_text: str,
        nonce: str,
        envelope_digest: bytes,
        current_difficulty: Callable[[], int] | None = None,
    ) -> None:
        """Raise PowRejected unless `nonce` solves the authentic, current `token` for this envelope."""
        token = self.admit(token_text, current_difficulty or (lambda: self._min_bits))
        self.check_work(token, nonce, envelope_digest)


@dataclass(frozen=True)
class Load:
    """What the deployment is carrying now; None where it is not known."""

    # Submissions accepted by every intake instance in the last minute.
    accepted_per_minute: int | None
    # Requests waiting anywhere: the intake queue, every partner's queue and unassigned.
    backlog: int | None


@dataclass(frozen=True)
class DifficultyRule:
    min_bits: int
    max_bits: int
    # The deployment's ordinary pace: acceptances per minute that cost no extra bit.
    baseline_per_minute: int
    # One extra bit per this many requests waiting.
    backlog_per_bit: int


def difficulty_for(load: Load, rule: DifficultyRule) -> int:
    """The floor, plus a bit per doubling of the acceptance rate over the baseline, plus a bit per
    `backlog_per_bit` requests waiting; never above the ceiling (docs/intake-api.md).

    A bit per doubling is what holds a flood down: each extra bit halves what
    the same machines can buy, so junk accepted grows with the square root of
    the flood's computing power instead of in proportion to it. The routers
    empty the intake queue at once, so depth alone never saw a flood; the
    rate does, within seconds, whatever the queues look like. An unknown
    figure (the store or broker away) adds nothing: requesters should not
    pay for our outage.
    """
    bits = rule.min_bits
    rate = load.accepted_per_minute
    if rate is not None and rate >= rule.baseline_per_minute:
        # floor(log2(rate / baseline)): 0 at the baseline, 1 at twice it, 2 at four times.
        bits += (rate // rule.baseline_per_minute).bit_length() - 1
    if load.backlog is not None:
        bits += load.backlog // rule.backlog_per_bit
    return min(rule.max_bits, bits)
