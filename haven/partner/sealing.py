"""Sealing the inbox's rows at rest: AES-256-GCM under a key derived from the organisation's key.

A laptop holding the inbox may be seized: every row's payload is sealed
here before it reaches SQLite, and opened only in memory after a member
unlocked the organisation's key (haven.partner.team).

    record_key = HKDF-SHA256(seed, salt = the inbox's random salt,
                             info = b"haven/inbox/v1 records")
    blob       = nonce (12 random bytes) || AES-256-GCM(record_key, nonce, json, aad)
    aad        = b"haven/inbox/v1 " + table + b" " + row id

The row id in the AAD means a blob copied or moved to another row (another
request's id, another event's id) does not open there.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from haven.envelope import PrivateKey

INFO = b"haven/inbox/v1 records"
AAD_PREFIX = b"haven/inbox/v1 "
NONCE_BYTES = 12
SALT_BYTES = 16


class SealError(Exception):
    """A row does not open under this key (another team's key, a moved or damaged row)."""


class RecordKey:
    """The key every row of one inbox is sealed under; its repr shows nothing of it."""

    def __init__(self, key: PrivateKey, salt: bytes) -> None:
        if len(salt) != SALT_BYTES:
            raise ValueError("the inbox salt is 16 bytes")
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=INFO).derive(key.seed)
        self._aead = AESGCM(derived)

    def __repr__(self) -> str:
        return "RecordKey(…)"

    @staticmethod
    def _aad(table: str, row_id: str) -> bytes:
        return AAD_PREFIX + table.encode("ascii") + b" " + row_id.encode("ascii")

    def seal(self, table: str, row_id: str, record: Mapping[str, Any]) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        data = json.dumps(dict(record), ensure_ascii=False, sort_keys=True).encode("utf-8")
        return nonce + self._aead.encrypt(nonce, data, self._aad(table, row_id))

    def open(self, table: str, row_id: str, blob: bytes) -> dict[str, Any]:
        try:
            data = self._aead.decrypt(
                blob[:NONCE_BYTES], blob[NONCE_BYTES:], self._aad(table, row_id)
            )
            record = json.loads(data)
        except (InvalidTag, ValueError, UnicodeEncodeError):
            raise SealError(f"{table} row {row_id} does not open with this team's key") from None
        if not isinstance(record, dict):
            raise SealError(f"{table} row {row_id} is not an inbox record")
        return record
