"""Key files as the CLI reads and writes them.

Partner public keys travel as a small JSON file, the same shape as a key
entry of the directory: {"kid": hex, "public_key": base64, "signing_key":
base64}, specified in docs/envelope-v1.md section 3 ("Public key file");
`signing_key` is the Ed25519 key the partner signs replies with
(docs/replies-v1.md section 3.3), absent from files made before replies.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

from haven.cli.common import CliError, read_bytes, read_passphrase
from haven.directory import DirectoryError, key_entry, read_network_verify_key
from haven.envelope import (
    KeyFileError,
    KeyFormatError,
    NetworkKey,
    NetworkVerifyKey,
    PrivateKey,
    PublicKey,
    unwrap_private_key,
)
from haven.envelope.strictjson import StrictJSONError, b64decode, loads
from haven.replies import signing_public_key

PUBLIC_KEY_FILE_MEMBERS = frozenset({"kid", "public_key"})
OPTIONAL_PUBLIC_KEY_FILE_MEMBERS = frozenset({"signing_key"})
SIGNING_KEY_BYTES = 32

MAX_KEY_FILE = 64 * 1024


@dataclass(frozen=True)
class PublicKeyFile:
    """A partner's public key file: the key requests are sealed to, and its signing key if listed."""

    key: PublicKey
    signing_key: bytes | None


def public_key_json(key: PublicKey, signing_key: bytes | None = None) -> bytes:
    return json.dumps(key_entry(key, signing_key), indent=1).encode("utf-8") + b"\n"


def partner_public_key_json(private: PrivateKey) -> bytes:
    """The public key file of a partner's own key, with the signing key derived from it."""
    return public_key_json(private.public_key, signing_public_key(private))


def load_public_key_file(path: Path) -> PublicKeyFile:
    """Read a public key file strictly: the key a request is sealed to must be exactly the one meant."""
    data = read_bytes(path, "public key file", limit=MAX_KEY_FILE)
    try:
        # Strict JSON: a duplicate "public_key" member could otherwise mean
        # one key to this reader and another to a different tool.
        record = loads(data)
    except StrictJSONError as exc:
        raise CliError(f"{path} is not a Haven public key file: {exc}") from None
    if (
        not isinstance(record, dict)
        or not set(record) >= PUBLIC_KEY_FILE_MEMBERS
        or not set(record) <= PUBLIC_KEY_FILE_MEMBERS | OPTIONAL_PUBLIC_KEY_FILE_MEMBERS
    ):
        raise CliError(
            f'{path} is not a Haven public key file: expected "kid", "public_key" '
            'and optionally "signing_key"'
        )
    try:
        key = PublicKey.from_bytes(b64decode(record["public_key"]))
    except StrictJSONError as exc:
        raise CliError(f"{path}: public_key: {exc}") from None
    except KeyFormatError as exc:
        raise CliError(f"{path}: {exc}") from None
    # The kid is redundant on purpose: it is what a person compares by eye
    # with the directory, so a file whose kid is not its key's is refused.
    if record["kid"] != key.kid_hex:
        raise CliError(f"{path}: kid does not match the public key")
    signing_key = None
    if "signing_key" in record:
        try:
            signing_key = b64decode(record["signing_key"])
        except StrictJSONError as exc:
            raise CliError(f"{path}: signing_key: {exc}") from None
        if len(signing_key) != SIGNING_KEY_BYTES:
            raise CliError(f"{path}: signing_key: must be {SIGNING_KEY_BYTES} bytes")
    return PublicKeyFile(key, signing_key)


def load_public_key(path: Path) -> PublicKey:
    """The key requests are sealed to, from a public key file (its signing key is not needed)."""
    return load_public_key_file(path).key


def load_private_key(path: Path, args: argparse.Namespace) -> PrivateKey:
    data = read_bytes(path, "key file", limit=MAX_KEY_FILE)
    passphrase = read_passphrase(args)
    try:
        return PrivateKey.from_seed(unwrap_private_key(data, passphrase, kind="partner"))
    except KeyFileError as exc:
        raise CliError(f"{path}: {exc}") from None


def load_network_key(path: Path, args: argparse.Namespace) -> NetworkKey:
    data = read_bytes(path, "network key file", limit=MAX_KEY_FILE)
    passphrase = read_passphrase(args)
    try:
        return NetworkKey(seed=unwrap_private_key(data, passphrase, kind="network"))
    except KeyFileError as exc:
        raise CliError(f"{path}: {exc}") from None


def load_verify_key(path: Path) -> NetworkVerifyKey:
    try:
        return read_network_verify_key(path)
    except DirectoryError as exc:
        raise CliError(str(exc)) from None
