"""Verification of a signed directory: signature, format, key ids, time, version."""

from __future__ import annotations

from datetime import datetime

from haven.directory.errors import DirectoryError
from haven.directory.recipients import check_recipient_sets
from haven.directory.state import SeenVersion, SeenVersionFile
from haven.envelope import (
    KeyFormatError,
    NetworkVerifyKey,
    PublicKey,
    SignatureError,
    verify_document,
)
from haven.envelope.edpoint import is_signing_public_key
from haven.envelope.strictjson import StrictJSONError, loads
from haven.seen import CLOCK_SKEW, MAX_VALIDITY
from schemas.directory import Directory, DirectoryFormatError, load_directory_payload

PURPOSE = "directory"


def parse_payload(payload: bytes) -> Directory:
    try:
        data = loads(payload)
    except StrictJSONError as exc:
        raise DirectoryError(f"directory payload is not strict JSON: {exc}") from None
    if not isinstance(data, dict):
        raise DirectoryError("directory payload is not a JSON object")
    try:
        directory = load_directory_payload(data)
    except DirectoryFormatError as exc:
        raise DirectoryError(f"directory is malformed: {exc}") from None
    _check_keys(directory)
    if directory.expires_at - directory.issued_at > MAX_VALIDITY:
        raise DirectoryError(f"directory is valid for more than {MAX_VALIDITY.days} days")
    check_recipient_sets(directory)
    return directory


def _check_keys(directory: Directory) -> None:
    for partner in directory.partners:
        for key in partner.keys:
            try:
                public = PublicKey.from_bytes(key.public_key)
            except KeyFormatError as exc:
                raise DirectoryError(f"partner {partner.id}: {exc}") from None
            # The kid is what a partner looks for in an envelope; a kid that
            # is not the hash of its key would misdirect every request.
            if public.kid_hex != key.kid:
                raise DirectoryError(f"partner {partner.id}: kid does not match its public key")
            # A signing key of small order would verify signatures anyone can
            # make: everyone could write to requesters as this partner.
            if key.signing_key is not None and not is_signing_public_key(key.signing_key):
                raise DirectoryError(
                    f"partner {partner.id}: signing_key is not a usable Ed25519 public key"
                )


def verify_directory(
    document: bytes,
    pinned: NetworkVerifyKey,
    *,
    now: datetime,
    seen: SeenVersion | None = None,
    allow_expired: bool = False,
) -> tuple[Directory, bytes]:
    """Return the directory (and its signed payload) if it is signed by the pinned key, well formed, current and not older.

    `seen` is the newest directory this client accepted before; a directory
    older than it is a rollback (an attacker replaying a version that still
    listed a compromised key) and is refused. `allow_expired` is for the
    publisher alone, renewing its own expired directory.
    """
    try:
        payload = verify_document(document, pinned, purpose=PURPOSE)
    except SignatureError as exc:
        raise DirectoryError(f"directory refused: {exc}") from None
    directory = parse_payload(payload)
    if now >= directory.expires_at and not allow_expired:
        raise DirectoryError(
            f"directory version {directory.version} expired at {iso_utc(directory.expires_at)}"
        )
    if directory.issued_at > now + CLOCK_SKEW:
        raise DirectoryError(
            f"directory version {directory.version} is issued in the future ({iso_utc(directory.issued_at)})"
        )
    if seen is not None:
        seen.check(directory.network_id, directory.version, payload)
    return directory, payload


def accept_directory(
    document: bytes,
    pinned: NetworkVerifyKey,
    *,
    now: datetime,
    state: SeenVersionFile | None,
) -> Directory:
    """Verify against the last accepted version, then remember this one."""
    seen = state.load() if state is not None else None
    directory, payload = verify_directory(document, pinned, now=now, seen=seen)
    if state is not None:
        state.store(directory.network_id, directory.version, payload)
    return directory


def iso_utc(moment: datetime) -> str:
    """RFC 3339 UTC, whole seconds, as the directory writes times."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
