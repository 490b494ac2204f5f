"""Building and signing new directory versions (done by the network's publisher only)."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from haven.directory.errors import DirectoryError
from haven.directory.lookup import partner_by_id
from haven.directory.verify import PURPOSE, iso_utc, parse_payload
from haven.envelope import NetworkKey, PublicKey, sign_document
from schemas.directory import (
    Directory,
    DirectoryFormatError,
    Partner,
    dump_directory_payload,
    load_directory_payload,
)

DEFAULT_VALIDITY = timedelta(days=14)


def _whole_seconds(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def empty_directory(
    network_id: str, *, now: datetime, validity: timedelta = DEFAULT_VALIDITY
) -> Directory:
    issued = _whole_seconds(now)
    return _load(
        {
            "network_id": network_id,
            "version": 1,
            "issued_at": iso_utc(issued),
            "expires_at": iso_utc(issued + validity),
            "partners": [],
        }
    )


def with_partner(
    directory: Directory,
    partner: Mapping[str, Any],
    *,
    now: datetime,
    validity: timedelta = DEFAULT_VALIDITY,
) -> Directory:
    """The next version: `partner` added, or replacing the entry with the same id."""
    others = [
        p for p in dump_directory_payload(directory)["partners"] if p["id"] != partner.get("id")
    ]
    return _next_version(directory, [*others, dict(partner)], now=now, validity=validity)


def without_partner(
    directory: Directory, partner_id: str, *, now: datetime, validity: timedelta = DEFAULT_VALIDITY
) -> Directory:
    """The next version, without the partner `partner_id`."""
    find_partner(directory, partner_id)
    others = [p for p in dump_directory_payload(directory)["partners"] if p["id"] != partner_id]
    return _next_version(directory, others, now=now, validity=validity)


def _next_version(
    directory: Directory, partners: list[dict[str, Any]], *, now: datetime, validity: timedelta
) -> Directory:
    issued = _whole_seconds(now)
    return _load(
        {
            **dump_directory_payload(directory),
            "version": directory.version + 1,
            "issued_at": iso_utc(issued),
            "expires_at": iso_utc(issued + validity),
            "partners": partners,
        }
    )


def key_entry(key: PublicKey, signing_key: bytes | None = None) -> dict[str, str]:
    """A partner key as the directory (and a partner's public key file) writes it.

    `signing_key` is the Ed25519 public key derived from the same seed
    (docs/replies-v1.md section 3.3); without it the partner cannot write
    to requesters' mailboxes.
    """
    entry = {"kid": key.kid_hex, "public_key": base64.b64encode(key.to_bytes()).decode("ascii")}
    if signing_key is not None:
        entry["signing_key"] = base64.b64encode(signing_key).decode("ascii")
    return entry


def payload_bytes(directory: Directory) -> bytes:
    return json.dumps(
        dump_directory_payload(directory), ensure_ascii=False, indent=1, sort_keys=True
    ).encode("utf-8")


def sign_directory(directory: Directory, key: NetworkKey) -> bytes:
    payload = payload_bytes(directory)
    # Re-parse what will be signed: the publisher never signs a document
    # that a client would then refuse.
    parse_payload(payload)
    return sign_document(payload, key, purpose=PURPOSE)


def partner_ids(directory: Directory) -> list[str]:
    return [p.id for p in directory.partners]


def find_partner(directory: Directory, partner_id: str) -> Partner:
    partner = partner_by_id(directory, partner_id)
    if partner is None:
        raise DirectoryError(f"no partner {partner_id!r} in the directory")
    return partner


def _load(data: Mapping[str, Any]) -> Directory:
    try:
        return load_directory_payload(data)
    except DirectoryFormatError as exc:
        raise DirectoryError(f"directory would be malformed: {exc}") from None


__all__ = [
    "DEFAULT_VALIDITY",
    "empty_directory",
    "find_partner",
    "partner_ids",
    "payload_bytes",
    "sign_directory",
    "with_partner",
    "without_partner",
]
