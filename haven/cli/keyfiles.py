"""Key files as the CLI reads and writes them.

Partner public keys travel as a small JSON file, the same shape as a key
entry of the directory: {"kid": hex, "public_key": base64}.
"""

from __future__ import annotations

import argparse
import base64
import binascii
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

MAX_KEY_FILE = 64 * 1024


def public_key_json(key: PublicKey) -> bytes:
    return json.dumps(key_entry(key), indent=1).encode("utf-8") + b"\n"


def load_public_key(path: Path) -> PublicKey:
    data = read_bytes(path, "public key file", limit=MAX_KEY_FILE)
    try:
        record = json.loads(data)
        key = PublicKey.from_bytes(base64.b64decode(record["public_key"], validate=True))
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise CliError(f"{path} is not a Haven public key file") from None
    except KeyFormatError as exc:
        raise CliError(f"{path}: {exc}") from None
    if record.get("kid") != key.kid_hex:
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
