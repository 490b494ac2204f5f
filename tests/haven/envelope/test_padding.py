from __future__ import annotations

import pytest

from haven.envelope.padding import BUCKETS, PaddingError, pad, unpad


@pytest.mark.parametrize("length", [0, 1, 4091, 4092, 4093, 16380, 16381, 65532])
def test_round_trip_at_bucket_edges(length: int) -> None:
    content = bytes([7]) * length
    padded = pad(content)
    assert len(padded) in BUCKETS
    assert unpad(padded) == content


def test_too_large() -> None:
    with pytest.raises(PaddingError):
        pad(bytes(65533))


def test_strict_unpad() -> None:
    good = pad(b"abc")
    with pytest.raises(PaddingError, match="zero"):
        unpad(good[:-1] + b"\x01")
    with pytest.raises(PaddingError, match="exceeds"):
        unpad(b"\xff\xff\xff\xff" + good[4:])
    with pytest.raises(PaddingError, match="smallest"):
        unpad(b"\x00\x00\x00\x03abc" + bytes(16384 - 7))
    with pytest.raises(PaddingError, match="bucket"):
        unpad(good[:-1])
