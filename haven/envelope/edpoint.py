"""Which 32-byte strings may serve as an Ed25519 public key that signs for someone.

OpenSSL's Ed25519 verification (what `cryptography` uses) accepts any
32 bytes as a public key and checks the cofactorless equation. Under a key
of small order, one of the eight points whose eightfold multiple is the
neutral element, that equation holds for signatures anyone can make: with
the neutral element itself as the key, `R = encode(s·B)` and `S = s` verify
for every message. The browser's verifier (@noble/curves in RFC 8032's
strict mode) refuses such keys. So Python refuses them too, before any
verification: a key listed for a partner must not let anyone sign as that
partner, and Python and the browser must agree on what verifies.

Pure arithmetic on public values (no secret passes through here), so
neither constant time nor speed matters: three doublings per key.
"""

from __future__ import annotations

_P = 2**255 - 19
_D = (-121665 * pow(121666, _P - 2, _P)) % _P
_SQRT_M1 = pow(2, (_P - 1) // 4, _P)

PUBLIC_KEY_BYTES = 32


def _decode(raw: bytes) -> tuple[int, int] | None:
    """RFC 8032 section 5.1.3, strictly: the point, or None if `raw` encodes none canonically."""
    y = int.from_bytes(raw, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    if y >= _P:
        return None
    u = (y * y - 1) % _P
    v = (_D * y * y + 1) % _P
    x = (u * pow(v, 3, _P) * pow(u * pow(v, 7, _P), (_P - 5) // 8, _P)) % _P
    if (v * x * x - u) % _P != 0:
        if (v * x * x + u) % _P != 0:
            return None
        x = (x * _SQRT_M1) % _P
    if x == 0 and sign == 1:
        return None
    if x & 1 != sign:
        x = _P - x
    return x, y


def _double(point: tuple[int, int]) -> tuple[int, int]:
    # The complete addition law of -x^2 + y^2 = 1 + d x^2 y^2, with both points equal.
    x, y = point
    t = _D * x * x * y * y % _P
    x2 = (2 * x * y) * pow(1 + t, _P - 2, _P) % _P
    y2 = (y * y + x * x) * pow(1 - t, _P - 2, _P) % _P
    return x2, y2


def is_signing_public_key(raw: bytes) -> bool:
    """True if `raw` is the canonical encoding of a point that is not of small order."""
    if not isinstance(raw, bytes) or len(raw) != PUBLIC_KEY_BYTES:
        return False
    point = _decode(raw)
    if point is None:
        return False
    for _ in range(3):
        point = _double(point)
    return point != (0, 1)
