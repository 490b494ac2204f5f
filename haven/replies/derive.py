"""Keys from a receipt code: Argon2id, then HKDF-SHA256 (docs/replies-v1.md section 1.6).

The code is the only secret: there is no server-held salt or pepper to
fetch, so a requester's device, the no-JavaScript intake and the CLI all
derive the same keys from the code alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from argon2.low_level import ARGON2_VERSION, Type, hash_secret_raw
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from haven.envelope import PrivateKey
from haven.replies.code import ReceiptCode

# The salt is fixed because nothing but the code may be needed to derive
# (no round trip before the keys exist). A per-code salt would need
# storing; a fixed one lets an attacker who holds many mailbox ids test a
# guess against all at once, which the 88 bits of the code absorb
# (section 1.7). It also keeps Haven's Argon2 outputs apart from any other
# system's.
SALT = b"haven/replies/v1 receipt code"
MAILBOX_ID_INFO = b"haven/replies/v1 mailbox id"
ACCESS_SECRET_INFO = b"haven/replies/v1 mailbox access secret"
REPLY_SEED_INFO = b"haven/replies/v1 reply key seed"
OUTPUT_BYTES = 32


@dataclass(frozen=True)
class Argon2Params:
    time_cost: int
    memory_kib: int
    parallelism: int
    tag_bytes: int
    version: int


# Fixed by version 1 (section 1.6): OWASP's first Argon2id setting, sized
# for a low-end phone running WebAssembly in a Web Worker (bench/receipt_bench.mjs).
ARGON2 = Argon2Params(time_cost=2, memory_kib=19456, parallelism=1, tag_bytes=32, version=0x13)
if ARGON2.version != ARGON2_VERSION:  # pragma: no cover - a library that changed under us
    raise RuntimeError("argon2-cffi no longer speaks Argon2 version 1.3")


@dataclass(frozen=True)
class ReplyKeys:
    """What a receipt code unlocks. Never logged: repr shows no secret."""

    mailbox_id: bytes = field(repr=False)
    access_secret: bytes = field(repr=False)
    reply_key: PrivateKey = field(repr=False)


def stretch(entropy: bytes) -> bytes:
    """Argon2id over the code's 11 entropy bytes: the slow step."""
    return hash_secret_raw(
        secret=entropy,
        salt=SALT,
        time_cost=ARGON2.time_cost,
        memory_cost=ARGON2.memory_kib,
        parallelism=ARGON2.parallelism,
        hash_len=ARGON2.tag_bytes,
        type=Type.ID,
        version=ARGON2.version,
    )


def expand(tag: bytes, info: bytes) -> bytes:
    """HKDF-SHA256 with an empty salt: 32 bytes for one label."""
    return HKDF(algorithm=hashes.SHA256(), length=OUTPUT_BYTES, salt=None, info=info).derive(tag)


def derive(code: ReceiptCode) -> ReplyKeys:
    tag = stretch(code.entropy)
    return ReplyKeys(
        mailbox_id=expand(tag, MAILBOX_ID_INFO),
        access_secret=expand(tag, ACCESS_SECRET_INFO),
        reply_key=PrivateKey.from_seed(expand(tag, REPLY_SEED_INFO)),
    )
