"""Stateless proof-of-work challenges bound to the envelope (docs/intake-api.md).

Abuse is priced in work, never answered by identifying anyone: Tor users
share exits, so there are no address-based limits. A challenge is a token
the intake authenticates with an HMAC; it keeps no record of what it issued.
The work is over the token *and the envelope's digest*, so one solution
cannot carry a second envelope; resubmitting the same envelope is the same
request (same id), which the worker drops as a duplicate.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

TOKEN_VERSION = 1
# version u8 || issued_at u64 || expires_at u64 || difficulty u8 || 16 random bytes
_BODY = struct.Struct(">BQQB16s")
_MAC_BYTES = 32
TOKEN_BYTES = _BODY.size + _MAC_BYTES
TOKEN_TEXT_LENGTH = 4 * TOKEN_BYTES // 3
# 66 bytes are exactly 88 base64url characters: no padding, no spare bits,
# so every token has one spelling.
_TOKEN_TEXT = re.compile(rf"[A-Za-z0-9_-]{{{TOKEN_TEXT_LENGTH}}}\Z")

# Domain separation: the HMAC key signs only challenge bodies, and a
# proof-of-work hash cannot be reused for anything else Haven hashes.
_MAC_CONTEXT = b"haven/v1 pow challenge\x00"
POW_CONTEXT = b"haven/v1 pow\x00"
ALGORITHM = (
    'SHA-256("haven/v1 pow" || 0x00 || base64url-decode(token) || SHA-256(envelope) '
    "|| ASCII(nonce)) has at least `difficulty` leading zero bits"
)

Reason = Literal["invalid", "expired", "insufficient"]


class PowRejected(Exception):  # noqa: N818 - reads as what the intake answers: 403
    """The proof-of-work does not admit the submission."""

    def __init__(self, reason: Reason, field: str) -> None:
        super().__init__(f"proof-of-work {reason}")
        self.reason = reason
        self.field = field


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


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


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
        self._secret = secret
        self._lifetime = lifetime
        self._min_bits = min_bits
        self._clock = clock
        self._random_bytes = random_bytes

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self._secret, _MAC_CONTEXT + body, hashlib.sha256).digest()

    def issue(self, difficulty: int) -> Challenge:
        now = int(self._clock())
        expires = now + self._lifetime
        body = _BODY.pack(TOKEN_VERSION, now, expires, difficulty, self._random_bytes(16))
        return Challenge(_b64url(body + self._mac(body)), difficulty, now, expires)

    def verify(self, token_text: str, nonce: str, envelope_digest: bytes) -> None:
        """Raise PowRejected unless `nonce` solves the authentic, current `token` for this envelope."""
        if not _TOKEN_TEXT.match(token_text):
            raise PowRejected("invalid", "pow.challenge")
        try:
            token = base64.urlsafe_b64decode(token_text)
        except (binascii.Error, ValueError):
            raise PowRejected("invalid", "pow.challenge") from None
        body, mac = token[: _BODY.size], token[_BODY.size :]
        # Constant-time: a forger learns nothing from how fast a guess fails.
        if not hmac.compare_digest(mac, self._mac(body)):
            raise PowRejected("invalid", "pow.challenge")
        version, _issued, expires, difficulty, _ = _BODY.unpack(body)
        if version != TOKEN_VERSION:
            raise PowRejected("invalid", "pow.challenge")
        if self._clock() >= expires:
            raise PowRejected("expired", "pow.challenge")
        # A token issued under a lower floor (before the operator raised it)
        # no longer buys a submission.
        if difficulty < self._min_bits:
            raise PowRejected("insufficient", "pow.challenge")
        if leading_zero_bits(pow_hash(token, envelope_digest, nonce)) < difficulty:
            raise PowRejected("insufficient", "pow.nonce")


def difficulty_for(depth: int | None, *, min_bits: int, max_bits: int, depth_per_bit: int) -> int:
    """One bit more per `depth_per_bit` requests waiting, within [min_bits, max_bits].

    An unknown depth (the broker is away) gives the floor: submissions fail
    with 503 then anyway, and requesters should not pay for our outage.
    """
    if depth is None:
        return min_bits
    return min(max_bits, min_bits + depth // depth_per_bit)
