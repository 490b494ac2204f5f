"""`haven keygen`: a partner's key pair."""

from __future__ import annotations

import argparse
from pathlib import Path

from haven.cli.common import (
    Commands,
    add_force_option,
    add_passphrase_option,
    read_passphrase,
    write_new,
)
from haven.cli.keyfiles import public_key_json
from haven.envelope import PrivateKey, wrap_private_key


def register(commands: Commands) -> None:
    parser = commands.add_parser(
        "keygen",
        help="generate a partner key pair",
        description="Generate a partner's X-Wing key pair. The private key is written wrapped "
        "under a passphrase (scrypt, N=2^17); the public key as JSON for the directory.",
    )
    parser.add_argument(
        "--key",
        type=Path,
        required=True,
        metavar="FILE",
        help="private key file to write (mode 0600)",
    )
    parser.add_argument(
        "--public", type=Path, required=True, metavar="FILE", help="public key file to write"
    )
    add_passphrase_option(parser)
    add_force_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    passphrase = read_passphrase(args, confirm=True)
    key = PrivateKey.generate()
    write_new(args.key, wrap_private_key(key.seed, passphrase), force=args.force, private=True)
    write_new(args.public, public_key_json(key.public_key), force=args.force)
    print(f"kid {key.public_key.kid_hex}")
    return 0
