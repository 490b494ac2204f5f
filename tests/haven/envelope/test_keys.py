from __future__ import annotations

import hashlib

import pytest

from haven.envelope import KeyFileError, KeyFormatError, PrivateKey, PublicKey, ScryptParams
from haven.envelope.keyfile import unwrap_private_key, wrap_private_key

FAST = ScryptParams(log2_n=10, r=8, p=1)


def test_seed_determines_the_key_pair() -> None:
    seed = bytes(range(32))
    one, two = PrivateKey.from_seed(seed), PrivateKey.from_seed(seed)
    assert one.public_key == two.public_key
    assert len(one.public_key.to_bytes()) == 1216
    assert one.kid == hashlib.sha256(one.public_key.to_bytes()).digest()


def test_public_key_parsing_is_strict() -> None:
    raw = PrivateKey.generate().public_key.to_bytes()
    assert PublicKey.from_bytes(raw).to_bytes() == raw
    with pytest.raises(KeyFormatError):
        PublicKey.from_bytes(raw[:-1])
    with pytest.raises(KeyFormatError):
        PublicKey.from_bytes(b"\xff" * 1216)
    with pytest.raises(KeyFormatError):
        PrivateKey.from_seed(b"short")


def test_private_key_repr_shows_no_secret() -> None:
    key = PrivateKey.generate()
    assert key.seed.hex() not in repr(key)


def test_key_file_round_trip_and_failures() -> None:
    key = PrivateKey.generate()
    wrapped = wrap_private_key(key.seed, "correct horse", params=FAST)
    assert len(wrapped) == 71
    assert key.seed not in wrapped
    assert unwrap_private_key(wrapped, "correct horse") == key.seed
    with pytest.raises(KeyFileError, match="passphrase"):
        unwrap_private_key(wrapped, "wrong horse")
    damaged = wrapped[:30] + bytes([wrapped[30] ^ 1]) + wrapped[31:]
    with pytest.raises(KeyFileError):
        unwrap_private_key(damaged, "correct horse")
    with pytest.raises(KeyFileError, match="network"):
        unwrap_private_key(wrapped, "correct horse", kind="network")


def test_passphrase_is_normalised() -> None:
    # "й" typed as one code point on one keyboard and as и + combining breve on another.
    wrapped = wrap_private_key(bytes(32), "\u0439", params=FAST)
    assert unwrap_private_key(wrapped, "\u0438\u0306") == bytes(32)


def test_forged_cost_parameters_are_refused() -> None:
    wrapped = bytearray(wrap_private_key(bytes(32), "pw", params=FAST))
    wrapped[4] = 30
    with pytest.raises(KeyFileError, match="scrypt"):
        unwrap_private_key(bytes(wrapped), "pw")


def test_default_cost_is_stated() -> None:
    assert ScryptParams() == ScryptParams(log2_n=17, r=8, p=1)


def test_unusable_x25519_half_is_refused() -> None:
    raw = PrivateKey.generate().public_key.to_bytes()
    with pytest.raises(KeyFormatError):
        PublicKey.from_bytes(raw[:1184] + bytes(32))


@pytest.mark.parametrize("offset,value", [(4, 21), (5, 9), (6, 5)])
def test_key_file_cost_is_bounded(offset: int, value: int) -> None:
    wrapped = bytearray(wrap_private_key(bytes(32), "pw", params=FAST))
    wrapped[offset] = value
    with pytest.raises(KeyFileError, match="scrypt"):
        unwrap_private_key(bytes(wrapped), "pw")


_P = 2**255 - 19
# The X25519 points of order dividing 8 (RFC 7748 section 6.1), canonical and
# not: 0, 1, the two points of order 8, p - 1, and p, p + 1 (0 and 1 again).
_LOW_ORDER_U = (
    0,
    1,
    325606250916557431795983626356110631294008115727848805560023387167927233504,
    39382357235489614581723060781553021112529911719440698176882885853963445705823,
    _P - 1,
    _P,
    _P + 1,
)


@pytest.mark.parametrize("high_bit", [0, 2**255])
@pytest.mark.parametrize("u", _LOW_ORDER_U)
def test_every_low_order_x25519_half_is_refused_by_name(u: int, high_bit: int) -> None:
    raw = PrivateKey.from_seed(bytes(32)).public_key.to_bytes()
    # The high bit is masked on reading (RFC 7748), so it hides nothing.
    x_half = (u + high_bit).to_bytes(32, "little")
    with pytest.raises(KeyFormatError, match="the X25519 half is a low-order point"):
        PublicKey.from_bytes(raw[:1184] + x_half)


def test_any_other_x25519_half_is_accepted_as_rfc_7748_says() -> None:
    raw = PrivateKey.from_seed(bytes(32)).public_key.to_bytes()
    masked = bytearray(raw)
    masked[-1] |= 0x80
    assert PublicKey.from_bytes(bytes(masked)).to_bytes() == bytes(masked)
    # p + 2 is not canonical, but it is the point u = 2, of large order.
    PublicKey.from_bytes(raw[:1184] + (_P + 2).to_bytes(32, "little"))


def test_a_bad_ml_kem_half_is_refused_by_name() -> None:
    raw = PrivateKey.from_seed(bytes(32)).public_key.to_bytes()
    with pytest.raises(KeyFormatError, match="the ML-KEM-768 half is not a valid key"):
        PublicKey.from_bytes(b"\xff" * 1184 + raw[1184:])
