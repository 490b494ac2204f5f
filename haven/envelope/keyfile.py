"""Private keys at rest: 32-byte secrets wrapped under a passphrase (docs/envelope-v1.md section 3).

A partner's laptop may be seized; the key file on it must be useless
without the passphrase, and must not let a forged file exhaust the machine.
"""

from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass
from typing import Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from haven.envelope.errors import KeyFileError

SecretKind = Literal["partner", "network"]

# One magic per kind of secret, so a network signing key can never be
# loaded where a partner's decryption key is expected, or the reverse.
MAGICS: dict[SecretKind, bytes] = {"partner": b"HVK\x01", "network": b"HVS\x01"}
SECRET_BYTES = 32
SALT_BYTES = 16
HEADER_BYTES = 4 + 3 + SALT_BYTES
FILE_BYTES = HEADER_BYTES + SECRET_BYTES + 16
# Bounds on what a key file may ask of the opener: a forged file cannot make
# it allocate more than 1 GiB (128 * r * N bytes) or spend more than 32 times
# the default work (r * p * N) on one attempt.
LOG2_N_RANGE = range(10, 21)
R_RANGE = range(1, 9)
P_RANGE = range(1, 5)
NONCE = bytes(12)


@dataclass(frozen=True)
class ScryptParams:
    """scrypt cost. The default (N=2^17, r=8, p=1) costs 128 MiB per guess."""

    log2_n: int = 17
    r: int = 8
    p: int = 1

    def __post_init__(self) -> None:
        if self.log2_n not in LOG2_N_RANGE or self.r not in R_RANGE or self.p not in P_RANGE:
            raise ValueError("scrypt parameters out of the accepted range")


def _derive(passphrase: str, salt: bytes, params: ScryptParams) -> bytes:
    secret = unicodedata.normalize("NFC", passphrase).encode("utf-8")
    kdf = Scrypt(salt=salt, length=32, n=1 << params.log2_n, r=params.r, p=params.p)
    return kdf.derive(secret)


def wrap_private_key(
    secret: bytes,
    passphrase: str,
    *,
    kind: SecretKind = "partner",
    params: ScryptParams | None = None,
) -> bytes:
    if len(secret) != SECRET_BYTES:
        raise ValueError("a Haven secret key is 32 bytes")
    if not passphrase:
        raise ValueError("an empty passphrase protects nothing")
    params = params or ScryptParams()
    salt = os.urandom(SALT_BYTES)
    header = MAGICS[kind] + bytes((params.log2_n, params.r, params.p)) + salt
    # Fresh salt per wrap, so every derived key encrypts exactly one message
    # and the fixed nonce never repeats under one key.
    sealed = AESGCM(_derive(passphrase, salt, params)).encrypt(NONCE, secret, header)
    return header + sealed


def unwrap_private_key(data: bytes, passphrase: str, *, kind: SecretKind = "partner") -> bytes:
    """Return the 32-byte secret; any failure is one KeyFileError."""
    if len(data) != FILE_BYTES or data[:4] != MAGICS[kind]:
        raise KeyFileError(f"not a Haven {kind} key file")
    try:
        params = ScryptParams(log2_n=data[4], r=data[5], p=data[6])
    except ValueError:
        raise KeyFileError("key file asks for unsupported scrypt parameters") from None
    salt = data[7:HEADER_BYTES]
    try:
        return AESGCM(_derive(passphrase, salt, params)).decrypt(
            NONCE, data[HEADER_BYTES:], data[:HEADER_BYTES]
        )
    except (InvalidTag, MemoryError):
        raise KeyFileError("wrong passphrase, or the key file is damaged") from None
