"""One format for every token the intake hands out and later takes back unchanged.

A token is `version u8 || issued_at u64 || purpose fields || 16 random
bytes || HMAC-SHA256`, spelt in base64url without padding. The intake keeps
no record of what it issued: the MAC alone proves a token is its own, so
any instance holding the same secret accepts it, and a seized intake holds
no list of who was handed what. Each purpose (the proof-of-work challenge,
the no-JavaScript form ticket) has its own version, layout, MAC context and
key, so a token made for one can never pass as the other.

Expiry stays with each purpose, since the rules differ: a challenge carries
its own `expires_at` (the requester's browser reads it), a ticket is judged
by its age against a window. Both read their times from the opened token.
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
from typing import Any

MAC_BYTES = 32
NONCE_BYTES = 16


class TokenInvalid(Exception):  # noqa: N818 - one answer for every forged or mangled token
    """Not a token this intake issued for this purpose (text, MAC or version)."""


@dataclass(frozen=True)
class Purpose:
    """What one kind of token is for: the separation between kinds lives here."""

    version: int
    # struct codes (big-endian) of the fields between issued_at and the nonce
    fields: str
    # Prefixed to every body before the MAC: a MAC over one kind's body is
    # never one over another's, even under the same key.
    mac_context: bytes
    # The MAC key is HMAC-SHA256(secret, key_context), so a key recovered
    # for one purpose opens nothing else. None keys the MAC with the secret
    # itself: only the proof-of-work challenge, whose MACs predate this
    # format and must keep verifying across instances and upgrades.
    key_context: bytes | None

    def __post_init__(self) -> None:
        if self.size % 3:
            # Whole base64 groups: no padding and no spare bits, so every
            # token has exactly one spelling and the length check is exact.
            raise ValueError("a signed token must be a multiple of 3 bytes long")

    @property
    def body(self) -> struct.Struct:
        return struct.Struct(f">BQ{self.fields}{NONCE_BYTES}s")

    @property
    def size(self) -> int:
        """Bytes in a token, MAC included."""
        return self.body.size + MAC_BYTES

    @property
    def text_length(self) -> int:
        """Characters in a token's base64url text."""
        return 4 * self.size // 3


@dataclass(frozen=True)
class Opened:
    """An authentic token of the right version; its times are the caller's to judge."""

    raw: bytes
    issued_at: int
    fields: tuple[Any, ...]
    nonce: bytes


class SignedTokens:
    """Issues and opens one purpose's tokens; randomness comes in through an explicit seam."""

    def __init__(
        self,
        secret: bytes,
        purpose: Purpose,
        *,
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        self._body = purpose.body
        self._text = re.compile(rf"[A-Za-z0-9_-]{{{purpose.text_length}}}\Z")
        self._purpose = purpose
        if purpose.key_context is None:
            self._key = secret
        else:
            self._key = hmac.new(secret, purpose.key_context, hashlib.sha256).digest()
        self._random_bytes = random_bytes

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self._key, self._purpose.mac_context + body, hashlib.sha256).digest()

    def issue(self, issued_at: int, *fields: Any) -> str:
        body = self._body.pack(
            self._purpose.version, issued_at, *fields, self._random_bytes(NONCE_BYTES)
        )
        return base64.urlsafe_b64encode(body + self._mac(body)).decode("ascii")

    def open(self, text: str) -> Opened:
        """The token's contents, or TokenInvalid; nothing is unpacked before the MAC is checked."""
        if not self._text.match(text):
            raise TokenInvalid
        try:
            raw = base64.urlsafe_b64decode(text)
        except (binascii.Error, ValueError):
            raise TokenInvalid from None
        body, mac = raw[: self._body.size], raw[self._body.size :]
        # Constant time: a forger learns nothing from how fast a guess fails.
        if not hmac.compare_digest(mac, self._mac(body)):
            raise TokenInvalid
        version, issued_at, *fields, nonce = self._body.unpack(body)
        if version != self._purpose.version:
            raise TokenInvalid
        return Opened(raw, issued_at, tuple(fields), nonce)
