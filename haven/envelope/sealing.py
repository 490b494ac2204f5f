"""Sealing and opening envelope v1 (docs/envelope-v1.md sections 6 and 8)."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeGuard

from cryptography.hazmat.primitives import hashes, hpke
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from haven.envelope.errors import OpenError
from haven.envelope.keys import PrivateKey, PublicKey
from haven.envelope.layout import MAX_RECIPIENTS, Labels, build_prefix, inspect
from haven.envelope.padding import PaddingError, pad, unpad

FILE_KEY_BYTES = 32
STANZA_INFO = b"haven/v1 file key\x00"
BODY_INFO = b"haven/v1 body"
COMMITMENT_INFO = b"haven/v1 key commitment"
# The body key is fresh for every envelope and encrypts exactly one message,
# so a fixed nonce never repeats under one key.
BODY_NONCE = bytes(12)

SUITE = hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)


@dataclass(frozen=True)
class Opened:
    labels: Labels
    server_sealed: bool
    content: bytes


def digest(envelope: bytes) -> str:
    """The request id and broker message id: SHA-256 of the envelope, lowercase hex."""
    return hashlib.sha256(envelope).hexdigest()


# The shape of every id `digest` makes. It lives here, beside `digest`, in
# the bottom layer, so the router, the webhook deliverer and the partner
# inbox all check one rule: an id is only ever 64 lowercase hex digits, so a
# claimed id can be logged, and an inbox file named after it, without
# letting a sender put text in a log line or a path outside the inbox.
MESSAGE_ID_PATTERN = re.compile(r"[0-9a-f]{64}\Z")


def is_message_id(value: object) -> TypeGuard[str]:
    """True if `value` has the shape of a `digest` (it may still be another envelope's)."""
    return isinstance(value, str) and MESSAGE_ID_PATTERN.match(value) is not None


def _derive(file_key: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(file_key)


def _body_key(file_key: bytes) -> bytes:
    return _derive(file_key, BODY_INFO)


def _commitment(file_key: bytes) -> bytes:
    return _derive(file_key, COMMITMENT_INFO)


def seal(
    content: bytes,
    labels: Labels,
    recipients: Sequence[PublicKey],
    *,
    server_sealed: bool = False,
    random_bytes: Callable[[int], bytes] = os.urandom,
) -> bytes:
    """Seal `content` to every recipient; each can open it alone."""
    if not 1 <= len(recipients) <= MAX_RECIPIENTS:
        raise ValueError(f"an envelope has 1 to {MAX_RECIPIENTS} recipients")
    ordered = sorted(recipients, key=lambda key: key.kid)
    kids = [key.kid for key in ordered]
    if len(set(kids)) != len(kids):
        raise ValueError("the same recipient key is listed twice")
    try:
        padded = pad(content)
    except PaddingError as exc:
        raise ValueError(str(exc)) from exc
    return _seal_padded(padded, labels, ordered, server_sealed, random_bytes(FILE_KEY_BYTES))


def _seal_padded(
    padded: bytes,
    labels: Labels,
    ordered: Sequence[PublicKey],
    server_sealed: bool,
    file_key: bytes,
) -> bytes:
    prefix = build_prefix(labels, server_sealed=server_sealed)
    header = bytearray(prefix)
    header.append(len(ordered))
    for key in ordered:
        # The HPKE info covers version, flags and labels: a relabelled
        # envelope cannot be opened by any recipient.
        stanza = SUITE.encrypt(file_key, key.hpke_key, info=STANZA_INFO + prefix)
        header += key.kid + stanza
    header += _commitment(file_key)
    body = AESGCM(_body_key(file_key)).encrypt(BODY_NONCE, padded, bytes(header))
    return bytes(header) + body


def open_envelope(envelope: bytes, keys: Sequence[PrivateKey]) -> Opened:
    """Open with one of the partner's own keys. Every failure is the same OpenError."""
    opened = _try_open(envelope, keys)
    if opened is None:
        # Raised from one place, outside any handler, in a frame that holds
        # no key material: neither the traceback line, nor __context__, nor
        # the frame's locals can tell which step failed.
        raise OpenError()
    return opened


def _try_open(envelope: bytes, keys: Sequence[PrivateKey]) -> Opened | None:
    try:
        header = inspect(envelope)
        stanzas = {stanza.kid: stanza for stanza in header.stanzas}
        # The first of the caller's keys that is a recipient, and only that
        # one (docs/envelope-v1.md section 8): no retry with another key, so
        # every implementation opens the same crafted envelope the same way.
        key = next((k for k in keys if k.kid in stanzas), None)
        if key is None:
            return None
        stanza = stanzas[key.kid]
        file_key = SUITE.decrypt(
            stanza.enc + stanza.wrapped_key, key.hpke_key, info=STANZA_INFO + header.prefix
        )
        # Key commitment: every recipient who opens must hold the same file
        # key, so no crafted envelope shows different partners different
        # content under one request id (AES-GCM alone does not commit).
        if not hmac.compare_digest(_commitment(file_key), header.commitment):
            return None
        padded = AESGCM(_body_key(file_key)).decrypt(BODY_NONCE, header.body, header.header)
        return Opened(
            labels=header.labels, server_sealed=header.server_sealed, content=unpad(padded)
        )
    except Exception:  # noqa: BLE001 - every failure to open is the same failure
        return None
