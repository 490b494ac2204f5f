"""Only a canonical Ed25519 point of large order may sign for someone (haven.envelope.edpoint)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from haven.envelope.edpoint import is_signing_public_key

# The points of small order, as libsodium lists them (crypto_sign/ed25519/ref10/open.c),
# with the sign bit set too, and the non-canonical encodings of 0 and 1 (y = p, p + 1).
SMALL_ORDER = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
]
NOT_CANONICAL = [
    # y = p and y = p + 1: 0 and 1 again, encoded with y >= p.
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    # x = 0 with the sign bit set (y = 1): RFC 8032 refuses it.
    "0100000000000000000000000000000000000000000000000000000000000080",
    # y = 2 is on no point of the curve.
    "0200000000000000000000000000000000000000000000000000000000000000",
]


@pytest.mark.parametrize("encoded", SMALL_ORDER + NOT_CANONICAL)
def test_small_order_and_non_canonical_keys_are_refused(encoded: str) -> None:
    assert not is_signing_public_key(bytes.fromhex(encoded))


def test_real_keys_and_the_base_point_are_accepted() -> None:
    base = bytes.fromhex("5866666666666666666666666666666666666666666666666666666666666666")
    assert is_signing_public_key(base)
    for _ in range(50):
        key = ed25519.Ed25519PrivateKey.generate().public_key().public_bytes_raw()
        assert is_signing_public_key(key)
    assert not is_signing_public_key(base[:31])
    assert not is_signing_public_key(base + b"\x00")


def test_why_openssl_needs_this_check() -> None:
    # Under the neutral element as a key, R = s·B and S = s verify for any
    # message in OpenSSL's cofactorless check. If this ever stops holding,
    # the check is still right, and this test says the threat changed.
    identity = bytes.fromhex(SMALL_ORDER[2])
    forged = bytes.fromhex("58" + "66" * 31) + (1).to_bytes(32, "little")
    ed25519.Ed25519PublicKey.from_public_bytes(identity).verify(forged, b"any message at all")
