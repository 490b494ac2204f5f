"""Key files as the CLI reads and writes them.

Partner public keys travel as a small JSON file, the same shape as a key
entry of the directory: {"kid": hex, "public_key": base64}, specified in
docs/envelope-v1.md section 3 ("Public key file").
"""

from __future__ import annotations

import argparse
import json
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

PUBLIC_KEY_FILE_MEMBERS = frozenset({"kid", "public_key"})

MAX_KEY_FILE = 64 * 1024


def public_key_json(key: PublicKey) -> bytes:
    return json.dumps(key_entry(key), indent=1).encode("utf-8") + b"\n"


def load_public_key(path: Path) -> PublicKey:
    """Read a public key file strictly: the key a request is sealed to must be exactly the one meant."""
    data = read_bytes(path, "public key file", limit=MAX_KEY_FILE)
    try:
        # Strict JSON: a duplicate "public_key" member could otherwise mean
        # one key to this reader and another to a different tool.
        record = loads(data)
    except StrictJSONError as exc:
        raise CliError(f"{path} is not a Haven public key file: {exc}") from None
    if not isinstance(record, dict) or set(record) != PUBLIC_KEY_FILE_MEMBERS:
        raise CliError(
            f'{path} is not a Haven public key file: expected exactly "kid" and "public_key"'
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
    return key


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
