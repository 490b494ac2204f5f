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
neither constant time matters nor, much, speed: one square root and three
doublings per key.
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


def _double(point: tuple[int, int, int]) -> tuple[int, int, int]:
    # Projective doubling on -x^2 + y^2 = 1 + d x^2 y^2 (dbl-2008-bbjlp, a = -1):
    # no inversion, and complete, so every point doubles correctly.
    x, y, z = point
    b = (x + y) * (x + y) % _P
    c = x * x % _P
    d = y * y % _P
    e = -c % _P
    f = (e + d) % _P
    j = (f - 2 * z * z) % _P
    return (b - c - d) * j % _P, f * (e - d) % _P, f * j % _P


def is_signing_public_key(raw: bytes) -> bool:
    """True if `raw` is the canonical encoding of a point that is not of small order."""
    if not isinstance(raw, bytes) or len(raw) != PUBLIC_KEY_BYTES:
        return False
    point = _decode(raw)
    if point is None:
        return False
    projective = (point[0], point[1], 1)
    for _ in range(3):
        projective = _double(projective)
    x, y, z = projective
    # The neutral element is (0 : Z : Z).
    return not (x == 0 and y == z)
