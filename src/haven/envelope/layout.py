"""Byte layout of envelope v1 and its strict parser (docs/envelope-v1.md section 5).

Everything here is public structure: parsing happens completely, with every
length checked, before any key or any cryptography is touched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from haven.envelope.errors import EnvelopeFormatError
from haven.envelope.keys import KID_BYTES
from haven.envelope.padding import BUCKETS, MAX_CONTENT_BYTES

MAGIC = b"HVN\x01"
FLAG_SERVER_SEALED = 0x01
KNOWN_FLAGS = FLAG_SERVER_SEALED
LABEL_MAX = 32
LABEL_FIELDS = ("category", "region", "language", "urgency")
ENC_BYTES = 1120
WRAPPED_KEY_BYTES = 32 + 16
STANZA_BYTES = KID_BYTES + ENC_BYTES + WRAPPED_KEY_BYTES
COMMITMENT_BYTES = 32
MAX_RECIPIENTS = 32
TAG_BYTES = 16
BODY_SIZES = frozenset(bucket + TAG_BYTES for bucket in BUCKETS)
MAX_PREFIX_BYTES = len(MAGIC) + 1 + len(LABEL_FIELDS) * (1 + LABEL_MAX)
MIN_PREFIX_BYTES = len(MAGIC) + 1 + len(LABEL_FIELDS) * 2
MAX_ENVELOPE_BYTES = (
    MAX_PREFIX_BYTES + 1 + MAX_RECIPIENTS * STANZA_BYTES + COMMITMENT_BYTES + max(BODY_SIZES)
)
MIN_ENVELOPE_BYTES = MIN_PREFIX_BYTES + 1 + STANZA_BYTES + COMMITMENT_BYTES + min(BODY_SIZES)

__all__ = [
    "BUCKETS",
    "MAX_CONTENT_BYTES",
    "MAX_ENVELOPE_BYTES",
    "MAX_RECIPIENTS",
    "Header",
    "Labels",
    "Stanza",
    "envelope_size",
    "inspect",
]

# The only free-form bytes outside the sealed body are these labels; keeping
# them to a tiny alphabet makes sure no free text can ride in the clear.
_LABEL_RE = re.compile(rb"[a-z0-9_-]{1,32}\Z")


@dataclass(frozen=True)
class Labels:
    """The four coarse routing labels that travel in the clear."""

    category: str
    region: str
    language: str
    urgency: str

    def __post_init__(self) -> None:
        for name in LABEL_FIELDS:
            value = getattr(self, name)
            if not isinstance(value, str) or not _LABEL_RE.match(value.encode("ascii", "replace")):
                raise EnvelopeFormatError(
                    f"label {name}: 1 to {LABEL_MAX} characters of a-z 0-9 _ -"
                )

    def as_tuple(self) -> tuple[str, str, str, str]:
        return (self.category, self.region, self.language, self.urgency)


@dataclass(frozen=True)
class Stanza:
    kid: bytes
    enc: bytes
    wrapped_key: bytes


@dataclass(frozen=True)
class Header:
    """The parsed public part of an envelope."""

    labels: Labels
    server_sealed: bool
    stanzas: tuple[Stanza, ...]
    commitment: bytes
    prefix: bytes
    header: bytes
    body: bytes

    @property
    def kids(self) -> tuple[bytes, ...]:
        return tuple(s.kid for s in self.stanzas)

    @property
    def bucket(self) -> int:
        return len(self.body) - TAG_BYTES


def envelope_size(prefix_length: int, recipients: int, bucket: int) -> int:
    return prefix_length + 1 + recipients * STANZA_BYTES + COMMITMENT_BYTES + bucket + TAG_BYTES


def build_prefix(labels: Labels, *, server_sealed: bool) -> bytes:
    out = bytearray(MAGIC)
    out.append(FLAG_SERVER_SEALED if server_sealed else 0)
    for value in labels.as_tuple():
        raw = value.encode("ascii")
        out.append(len(raw))
        out += raw
    return bytes(out)


def inspect(envelope: bytes) -> Header:
    """Parse an envelope's public structure; raise EnvelopeFormatError naming the rule broken."""
    if not isinstance(envelope, bytes | bytearray | memoryview):
        raise EnvelopeFormatError("an envelope is bytes")
    envelope = bytes(envelope)
    if len(envelope) > MAX_ENVELOPE_BYTES:
        raise EnvelopeFormatError(f"envelope is larger than {MAX_ENVELOPE_BYTES} bytes")
    if len(envelope) < MIN_ENVELOPE_BYTES:
        raise EnvelopeFormatError("envelope is truncated")
    if envelope[:3] != MAGIC[:3]:
        raise EnvelopeFormatError("not a Haven envelope")
    if envelope[3] != MAGIC[3]:
        raise EnvelopeFormatError("unsupported envelope version")
    flags = envelope[4]
    if flags & ~KNOWN_FLAGS:
        raise EnvelopeFormatError("unknown flag bits set")
    pos = 5
    values: list[str] = []
    for name in LABEL_FIELDS:
        length = envelope[pos]
        raw = envelope[pos + 1 : pos + 1 + length]
        if not 1 <= length <= LABEL_MAX or not _LABEL_RE.match(raw):
            raise EnvelopeFormatError(f"label {name} is malformed")
        values.append(raw.decode("ascii"))
        pos += 1 + length
    prefix_end = pos
    count = envelope[pos]
    pos += 1
    if not 1 <= count <= MAX_RECIPIENTS:
        raise EnvelopeFormatError(f"recipient count must be 1 to {MAX_RECIPIENTS}")
    body_length = len(envelope) - pos - count * STANZA_BYTES - COMMITMENT_BYTES
    if body_length not in BODY_SIZES:
        raise EnvelopeFormatError(
            "envelope length does not match its recipients and a padding bucket"
        )
    stanzas: list[Stanza] = []
    for _ in range(count):
        kid = envelope[pos : pos + KID_BYTES]
        enc = envelope[pos + KID_BYTES : pos + KID_BYTES + ENC_BYTES]
        wrapped = envelope[pos + KID_BYTES + ENC_BYTES : pos + STANZA_BYTES]
        # Strictly increasing kids: one stanza per recipient, one canonical order.
        if stanzas and kid <= stanzas[-1].kid:
            raise EnvelopeFormatError("recipient stanzas are not in strictly increasing kid order")
        stanzas.append(Stanza(kid=kid, enc=enc, wrapped_key=wrapped))
        pos += STANZA_BYTES
    commitment = bytes(envelope[pos : pos + COMMITMENT_BYTES])
    pos += COMMITMENT_BYTES
    return Header(
        labels=Labels(*values),
        server_sealed=bool(flags & FLAG_SERVER_SEALED),
        stanzas=tuple(stanzas),
        commitment=commitment,
        prefix=bytes(envelope[:prefix_end]),
        header=bytes(envelope[:pos]),
        body=bytes(envelope[pos:]),
    )
