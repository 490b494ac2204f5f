"""Byte layout of envelope v1 and its strict parser (docs/envelope-v1.md section 5).

Everything here is public structure: parsing happens completely, with every
length checked, before any key or any cryptography is touched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from itertools import pairwise

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
    """The parsed public part of an envelope.

    Built only by `inspect`, and only after every check has passed. It
    keeps the checked (immutable) envelope and where its parts end: the
    stanzas and the byte fields are sliced from it when first read, so a
    reader that needs only the labels and kids (the router) copies nothing.
    """

    labels: Labels
    server_sealed: bool
    # One per stanza, strictly increasing (checked by `inspect`).
    kids: tuple[bytes, ...]
    _envelope: bytes = field(repr=False)
    _prefix_end: int = field(repr=False)
    _header_end: int = field(repr=False)

    @cached_property
    def stanzas(self) -> tuple[Stanza, ...]:
        envelope = self._envelope
        start = self._prefix_end + 1
        return tuple(
            Stanza(
                kid=kid,
                enc=envelope[pos + KID_BYTES : pos + KID_BYTES + ENC_BYTES],
                wrapped_key=envelope[pos + KID_BYTES + ENC_BYTES : pos + STANZA_BYTES],
            )
            for kid, pos in zip(
                self.kids,
                range(start, start + len(self.kids) * STANZA_BYTES, STANZA_BYTES),
                strict=True,
            )
        )

    @property
    def commitment(self) -> bytes:
        return self._envelope[self._header_end - COMMITMENT_BYTES : self._header_end]

    @property
    def prefix(self) -> bytes:
        return self._envelope[: self._prefix_end]

    @property
    def header(self) -> bytes:
        return self._envelope[: self._header_end]

    @property
    def body(self) -> bytes:
        return self._envelope[self._header_end :]

    @property
    def bucket(self) -> int:
        return len(self._envelope) - self._header_end - TAG_BYTES


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
    # An immutable copy (none if it already is bytes): the Header slices it later.
    envelope = bytes(envelope)
    size = len(envelope)
    if size > MAX_ENVELOPE_BYTES:
        raise EnvelopeFormatError(f"envelope is larger than {MAX_ENVELOPE_BYTES} bytes")
    if size < MIN_ENVELOPE_BYTES:
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
    stanzas_end = pos + count * STANZA_BYTES
    body_length = size - stanzas_end - COMMITMENT_BYTES
    if body_length not in BODY_SIZES:
        raise EnvelopeFormatError(
            "envelope length does not match its recipients and a padding bucket"
        )
    kids = tuple([envelope[at : at + KID_BYTES] for at in range(pos, stanzas_end, STANZA_BYTES)])
    # Strictly increasing kids: one stanza per recipient, one canonical order.
    for before, kid in pairwise(kids):
        if kid <= before:
            raise EnvelopeFormatError("recipient stanzas are not in strictly increasing kid order")
    # labels, server_sealed, kids, then the envelope and where its prefix and header end.
    return Header(
        Labels(*values),
        bool(flags & FLAG_SERVER_SEALED),
        kids,
        envelope,
        prefix_end,
        stanzas_end + COMMITMENT_BYTES,
    )
