"""Length hiding: content padded to fixed buckets (docs/envelope-v1.md section 7)."""

from __future__ import annotations

import hmac

BUCKETS = (4096, 16384, 65536)
LENGTH_PREFIX = 4
MAX_CONTENT_BYTES = BUCKETS[-1] - LENGTH_PREFIX


class PaddingError(ValueError):
    """Content too large to pad, or padded bytes not in canonical form."""


def bucket_for(content_length: int) -> int:
    for bucket in BUCKETS:
        if content_length + LENGTH_PREFIX <= bucket:
            return bucket
    raise PaddingError(f"content is {content_length} bytes; at most {MAX_CONTENT_BYTES} fit")


def pad(content: bytes) -> bytes:
    bucket = bucket_for(len(content))
    return (
        len(content).to_bytes(LENGTH_PREFIX, "big")
        + content
        + bytes(bucket - LENGTH_PREFIX - len(content))
    )


def unpad(padded: bytes) -> bytes:
    if len(padded) not in BUCKETS:
        raise PaddingError("padded length is not a bucket")
    length = int.from_bytes(padded[:LENGTH_PREFIX], "big")
    if length > len(padded) - LENGTH_PREFIX:
        raise PaddingError("length prefix exceeds the bucket")
    # Canonical form: exactly one padded encoding per content, so a second,
    # differently padded envelope of the same content cannot be made to look
    # like another request of a different size class.
    if bucket_for(length) != len(padded):
        raise PaddingError("content is not in its smallest bucket")
    tail = padded[LENGTH_PREFIX + length :]
    if not hmac.compare_digest(tail, bytes(len(tail))):
        raise PaddingError("padding is not zero")
    return padded[LENGTH_PREFIX : LENGTH_PREFIX + length]
