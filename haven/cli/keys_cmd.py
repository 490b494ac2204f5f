"""`haven keygen` and `haven public-key`: a partner's key pair and its public key file."""

from __future__ import annotations

import argparse
import base64
from pathlib import Path

from haven.cli.common import (
    Commands,
    add_force_option,
    add_passphrase_option,
    read_passphrase,
    write_new,
)
from haven.cli.keyfiles import load_private_key, partner_public_key_json
from haven.envelope import PrivateKey, wrap_private_key
from haven.replies import signing_public_key


def register(commands: Commands) -> None:
    parser = commands.add_parser(
        "keygen",
        help="generate a partner key pair",
        description="Generate a partner's X-Wing key pair. The private key is written wrapped "
        "under a passphrase (scrypt, N=2^17); the public key as JSON for the directory, with "
        "the signing key the partner's replies are checked against.",
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

    public = commands.add_parser(
        "public-key",
        help="write the public key file of an existing partner key",
        description="Write the public key file of a partner's existing private key, with the "
        "signing key derived from it: for keys made before replies existed, whose public key "
        "file has no signing key, or to make a lost public key file again.",
    )
    public.add_argument(
        "--key", type=Path, required=True, metavar="FILE", help="the partner's private key file"
    )
    public.add_argument(
        "--public", type=Path, required=True, metavar="FILE", help="public key file to write"
    )
    add_passphrase_option(public)
    add_force_option(public)
    public.set_defaults(handler=run_public_key)


def _print_fingerprints(key: PrivateKey) -> None:
    # What the partner reads out to the directory's publisher, who compares
    # both with what `haven directory add-partner` prints: a file swapped on
    # its way would show another kid or another signing key.
    print(f"kid {key.public_key.kid_hex}")
    print(f"signing key {base64.b64encode(signing_public_key(key)).decode('ascii')}")


def run(args: argparse.Namespace) -> int:
    passphrase = read_passphrase(args, confirm=True)
    key = PrivateKey.generate()
    write_new(args.key, wrap_private_key(key.seed, passphrase), force=args.force, private=True)
    write_new(args.public, partner_public_key_json(key), force=args.force)
    _print_fingerprints(key)
    return 0


def run_public_key(args: argparse.Namespace) -> int:
    key = load_private_key(args.key, args)
    write_new(args.public, partner_public_key_json(key), force=args.force)
    _print_fingerprints(key)
    return 0
