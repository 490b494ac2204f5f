"""Webhook signatures in the style of Standard Webhooks (https://www.standardwebhooks.com/).

Each POST carries three headers:

    webhook-id:        the message id (the envelope's digest)
    webhook-timestamp: unix seconds when it was signed
    webhook-signature: "v1,<base64 HMAC-SHA256(key, f'{id}.{timestamp}.' + body)>"
                       (several, space-separated, while a secret is rotated)

The secret is `whsec_<base64 of 24 to 64 random bytes>`; the key is the
decoded bytes. The signature binds id, time and body together, so a
captured delivery cannot be replayed later (the receiver refuses stale
timestamps) nor have its body swapped. The body is the sealed envelope:
the signature says it came from Haven, the envelope's own crypto keeps it
secret.

`verify` is for partners' receivers (and for tests); Haven only signs.
Nothing here puts a secret, or any part of one, into an error message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path

PREFIX = "whsec_"
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64
NEW_SECRET_BYTES = 32
# A secret file holds at most this many secrets (one per line): the current
# one and, while a partner's receiver changes over, the next.
MAX_SECRETS = 4
MAX_SECRET_FILE = 4096
DEFAULT_TOLERANCE = 300

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"

# Standard Webhooks ids are printable tokens; Haven's are 64 hex digits.
# Anything else could smuggle separators into the signed string.
_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}\Z")
_TIMESTAMP = re.compile(r"[0-9]{1,12}\Z")
_MAX_SIGNATURES = 16


class SecretError(ValueError):
    """A secret (or secret file) is unusable; the message never quotes the secret."""


class VerificationError(ValueError):
    """A webhook request whose signature does not hold; the message names which check failed."""


def new_secret() -> str:
    """A fresh secret in its text form, from the OS's CSPRNG."""
    return PREFIX + base64.b64encode(secrets.token_bytes(NEW_SECRET_BYTES)).decode("ascii")


def parse_secret(text: str) -> bytes:
    """The key bytes of a `whsec_...` secret."""
    if not isinstance(text, str) or not text.startswith(PREFIX):
        raise SecretError("a webhook secret starts with whsec_")
    try:
        key = base64.b64decode(text[len(PREFIX) :].encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise SecretError("a webhook secret is whsec_ followed by standard base64") from None
    if not MIN_SECRET_BYTES <= len(key) <= MAX_SECRET_BYTES:
        raise SecretError(
            f"a webhook secret holds {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes of key"
        )
    return key


def load_secret(path: Path) -> tuple[bytes, ...]:
    """The keys in a secret file: one `whsec_...` per line, the first the current one.

    Refused: a file that group or others may read or write (like ssh with a
    private key, because whoever reads it can forge deliveries to the
    partner, and whoever writes it can make Haven sign with their key), a
    file that is not a regular file, an empty or oversized file.
    """
    try:
        with path.open("rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise SecretError(f"{path} is not a regular file")
            if info.st_mode & 0o077:
                raise SecretError(
                    f"{path} is accessible to group or others (mode "
                    f"{stat.S_IMODE(info.st_mode):04o}); chmod 600 it"
                )
            data = handle.read(MAX_SECRET_FILE + 1)
    except OSError as exc:
        raise SecretError(f"cannot read {path}: {exc.strerror}") from None
    if len(data) > MAX_SECRET_FILE:
        raise SecretError(f"{path} is larger than {MAX_SECRET_FILE} bytes")
    try:
        lines = [line.strip() for line in data.decode("ascii").splitlines()]
    except UnicodeDecodeError:
        raise SecretError(f"{path} is not a webhook secret file") from None
    texts = [line for line in lines if line]
    if not 1 <= len(texts) <= MAX_SECRETS:
        raise SecretError(f"{path} must hold 1 to {MAX_SECRETS} secrets, one per line")
    keys = []
    for number, text in enumerate(texts, start=1):
        try:
            keys.append(parse_secret(text))
        except SecretError as exc:
            # The line number, never the line: it is (part of) a secret.
            raise SecretError(f"{path}, secret {number}: {exc}") from None
    return tuple(keys)


def _signed_content(msg_id: str, timestamp: int, body: bytes) -> bytes:
    return f"{msg_id}.{timestamp}.".encode("ascii") + body


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 signature>` over id, timestamp and body."""
    if not _ID.match(msg_id):
        raise ValueError("webhook id must be 1 to 128 of A-Z a-z 0-9 _ . : -")
    if not 0 <= timestamp < 10**12:
        raise ValueError("timestamp out of range")
    mac = hmac.new(key, _signed_content(msg_id, timestamp, body), hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


def signature_header(keys: tuple[bytes, ...], msg_id: str, timestamp: int, body: bytes) -> str:
    """One signature per key, space-separated: a receiver that knows any one of them accepts."""
    return " ".join(sign(key, msg_id, timestamp, body) for key in keys)


def verify(
    secret: bytes | str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: int,
    tolerance: int = DEFAULT_TOLERANCE,
) -> str:
    """Check a received webhook; return its id. Raises `VerificationError`.

    `secret` is the `whsec_...` text or the key bytes; header names are
    matched case-insensitively; `now` is the receiver's unix time. A
    timestamp more than `tolerance` seconds off (either way) is refused, so
    a recorded request cannot be replayed later. Receivers should also drop
    an id they have already taken (at-least-once delivery repeats ids).
    """
    key = parse_secret(secret) if isinstance(secret, str) else secret
    lowered = {name.lower(): value for name, value in headers.items()}
    msg_id = lowered.get(ID_HEADER)
    stamp = lowered.get(TIMESTAMP_HEADER)
    signatures = lowered.get(SIGNATURE_HEADER)
    if msg_id is None or stamp is None or signatures is None:
        raise VerificationError("missing webhook-id, webhook-timestamp or webhook-signature")
    if not _ID.match(msg_id):
        raise VerificationError("malformed webhook-id")
    if not _TIMESTAMP.match(stamp):
        raise VerificationError("malformed webhook-timestamp")
    timestamp = int(stamp)
    if timestamp < now - tolerance:
        raise VerificationError("timestamp too old")
    if timestamp > now + tolerance:
        raise VerificationError("timestamp in the future")
    expected = sign(key, msg_id, timestamp, body).encode("ascii")
    candidates = signatures.split()
    if len(candidates) > _MAX_SIGNATURES:
        raise VerificationError("too many signatures")
    # Every candidate is compared (in constant time each): which one matched,
    # or how far a wrong one got, is not told by the timing.
    matched = False
    for candidate in candidates:
        if candidate.startswith("v1,") and hmac.compare_digest(
            candidate.encode("ascii", "replace"), expected
        ):
            matched = True
    if not matched:
        raise VerificationError("no valid signature")
    return msg_id
