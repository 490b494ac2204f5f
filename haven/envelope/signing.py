"""Documents signed by the network key (the partner directory), Ed25519.

The signature covers the exact payload bytes, carried base64-encoded, so
no JSON canonicalisation is needed and a browser verifies the same bytes
that were signed. A context string keeps a signature made for one purpose
from being accepted for another.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from haven.envelope import strictjson
from haven.envelope.errors import KeyFormatError, SignatureError

DOCUMENT_FORMAT = "haven-signed-v1"
CONTEXT = b"haven/v1 signed document\x00"
MAX_DOCUMENT_BYTES = 4 * 1024 * 1024


def _signed_message(purpose: str, payload: bytes) -> bytes:
    return CONTEXT + purpose.encode("ascii") + b"\x00" + payload


@dataclass(frozen=True)
class NetworkVerifyKey:
    """The network's public signing key, pinned in every client."""

    raw: bytes
    _key: ed25519.Ed25519PublicKey = field(repr=False, compare=False)

    @classmethod
    def from_bytes(cls, data: bytes) -> NetworkVerifyKey:
        if len(data) != 32:
            raise KeyFormatError("a network verify key is 32 bytes")
        return cls(raw=bytes(data), _key=ed25519.Ed25519PublicKey.from_public_bytes(data))

    @classmethod
    def from_text(cls, text: str) -> NetworkVerifyKey:
        try:
            return cls.from_bytes(base64.b64decode(text.strip(), validate=True))
        except binascii.Error as exc:
            raise KeyFormatError("a network verify key is 32 bytes in base64") from exc

    def to_text(self) -> str:
        return base64.b64encode(self.raw).decode("ascii")

    @property
    def fingerprint(self) -> str:
        """What people compare out of band when pinning the key."""
        return hashlib.sha256(self.raw).hexdigest()

    def verify(self, signature: bytes, message: bytes) -> None:
        try:
            self._key.verify(signature, message)
        except InvalidSignature:
            raise SignatureError(
                "signature does not verify against the pinned network key"
            ) from None


@dataclass(frozen=True)
class NetworkKey:
    """The network's signing key; lives only on the machine that publishes directories."""

    seed: bytes = field(repr=False)

    @classmethod
    def generate(cls) -> NetworkKey:
        return cls(seed=os.urandom(32))

    @property
    def verify_key(self) -> NetworkVerifyKey:
        public = ed25519.Ed25519PrivateKey.from_private_bytes(self.seed).public_key()
        return NetworkVerifyKey.from_bytes(public.public_bytes_raw())

    def sign(self, message: bytes) -> bytes:
        return ed25519.Ed25519PrivateKey.from_private_bytes(self.seed).sign(message)


def sign_document(payload: bytes, key: NetworkKey, *, purpose: str) -> bytes:
    """Wrap `payload` in a signed document (UTF-8 JSON bytes)."""
    document = {
        "format": DOCUMENT_FORMAT,
        "purpose": purpose,
        "payload": base64.b64encode(payload).decode("ascii"),
        "signature": base64.b64encode(key.sign(_signed_message(purpose, payload))).decode("ascii"),
    }
    return json.dumps(document, indent=2).encode("utf-8") + b"\n"


def verify_document(document: bytes, key: NetworkVerifyKey, *, purpose: str) -> bytes:
    """Return the payload bytes if the document is signed by `key` for `purpose`."""
    if len(document) > MAX_DOCUMENT_BYTES:
        raise SignatureError("signed document is too large")
    try:
        parsed = strictjson.loads(document)
    except strictjson.StrictJSONError as exc:
        raise SignatureError(f"not a signed document: {exc}") from None
    if not isinstance(parsed, dict) or parsed.get("format") != DOCUMENT_FORMAT:
        raise SignatureError(f"not a signed document: format is not {DOCUMENT_FORMAT}")
    if set(parsed) != {"format", "purpose", "payload", "signature"}:
        raise SignatureError("document is unsigned or has unexpected fields")
    if parsed["purpose"] != purpose:
        # The claimed purpose is attacker-controlled: not echoed.
        raise SignatureError(f"document is not signed for {purpose!r}")
    try:
        payload = strictjson.b64decode(parsed["payload"])
        signature = strictjson.b64decode(parsed["signature"])
    except strictjson.StrictJSONError:
        raise SignatureError("payload or signature is not canonical base64") from None
    if len(signature) != 64:
        raise SignatureError("signature is not 64 bytes")
    key.verify(signature, _signed_message(purpose, payload))
    return payload
