"""X-Wing key pairs (ML-KEM-768 + X25519), as in docs/envelope-v1.md section 3."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from functools import cached_property

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519

from haven.envelope.errors import KeyFormatError

SEED_BYTES = 32
MLKEM_PUBLIC_BYTES = 1184
X25519_PUBLIC_BYTES = 32
PUBLIC_KEY_BYTES = MLKEM_PUBLIC_BYTES + X25519_PUBLIC_BYTES
KID_BYTES = 32
# Any scalar will do: a clamped scalar is a multiple of the cofactor 8, so
# its product with a point of order dividing 8 is the identity (RFC 7748
# section 6.1's all-zero check), and with any other point it is not.
_PROBE_SCALAR = x25519.X25519PrivateKey.from_private_bytes(bytes([9]) * 32)


def kid_of(public_key_bytes: bytes) -> bytes:
    """Key id: SHA-256 of the 1216-byte public key."""
    return hashlib.sha256(public_key_bytes).digest()


def _is_low_order(point: x25519.X25519PublicKey) -> bool:
    try:
        _PROBE_SCALAR.exchange(point)
    except ValueError:  # cryptography refuses the all-zero shared secret
        return True
    return False


@dataclass(frozen=True, eq=False)
class PublicKey:
    """A partner's public key: ML-KEM-768 encapsulation key || X25519 public key."""

    raw: bytes
    _hpke: hpke.MLKEM768X25519PublicKey = field(repr=False, compare=False)

    @classmethod
    def from_bytes(cls, data: bytes) -> PublicKey:
        if len(data) != PUBLIC_KEY_BYTES:
            raise KeyFormatError(f"public key must be {PUBLIC_KEY_BYTES} bytes, got {len(data)}")
        try:
            # FIPS 203 section 7.2's encapsulation-key check (length and every
            # coefficient reduced modulo q): a malformed ML-KEM key is refused
            # here, not at sealing time.
            mlkem_key = mlkem.MLKEM768PublicKey.from_public_bytes(data[:MLKEM_PUBLIC_BYTES])
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise KeyFormatError("public key: the ML-KEM-768 half is not a valid key") from exc
        x_key = x25519.X25519PublicKey.from_public_bytes(data[MLKEM_PUBLIC_BYTES:])
        if _is_low_order(x_key):
            # Every 32 bytes are an X25519 u-coordinate (RFC 7748), but a
            # low-order point gives the all-zero shared secret whatever the
            # sealer's scalar: the X25519 half would add nothing, and no
            # sealer could use the key. In a directory it would make every
            # request of its category unsendable.
            raise KeyFormatError("public key: the X25519 half is a low-order point")
        return cls(raw=bytes(data), _hpke=hpke.MLKEM768X25519PublicKey(mlkem_key, x_key))

    def to_bytes(self) -> bytes:
        return self.raw

    @cached_property
    def kid(self) -> bytes:
        return kid_of(self.raw)

    @property
    def kid_hex(self) -> str:
        return self.kid.hex()

    @property
    def hpke_key(self) -> hpke.MLKEM768X25519PublicKey:
        return self._hpke

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicKey) and self.raw == other.raw

    def __hash__(self) -> int:
        return hash(self.raw)


@dataclass(frozen=True, eq=False)
class PrivateKey:
    """A partner's private key: the 32-byte X-Wing seed (portable to other implementations)."""

    seed: bytes = field(repr=False)
    public_key: PublicKey = field(repr=False)
    _hpke: hpke.MLKEM768X25519PrivateKey = field(repr=False)

    @classmethod
    def generate(cls) -> PrivateKey:
        return cls.from_seed(os.urandom(SEED_BYTES))

    @classmethod
    def from_seed(cls, seed: bytes) -> PrivateKey:
        if len(seed) != SEED_BYTES:
            raise KeyFormatError(f"private key seed must be {SEED_BYTES} bytes")
        # X-Wing (draft-06) expansion: one seed gives both component keys.
        expanded = hashlib.shake_256(seed).digest(96)
        mlkem_key = mlkem.MLKEM768PrivateKey.from_seed_bytes(expanded[:64])
        x_key = x25519.X25519PrivateKey.from_private_bytes(expanded[64:96])
        public = PublicKey.from_bytes(
            mlkem_key.public_key().public_bytes_raw() + x_key.public_key().public_bytes_raw()
        )
        return cls(
            seed=bytes(seed),
            public_key=public,
            _hpke=hpke.MLKEM768X25519PrivateKey(mlkem_key, x_key),
        )

    @property
    def kid(self) -> bytes:
        return self.public_key.kid

    @property
    def hpke_key(self) -> hpke.MLKEM768X25519PrivateKey:
        return self._hpke

    def __repr__(self) -> str:
        return f"PrivateKey(kid={self.kid.hex()[:16]}…)"
