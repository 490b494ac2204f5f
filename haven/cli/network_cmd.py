"""`haven network` and `haven directory`: the signed partner directory."""

from __future__ import annotations

import argparse
import base64
import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from haven.cli.common import (
    CliError,
    Commands,
    add_force_option,
    add_passphrase_option,
    comma_list,
    now,
    read_passphrase,
    write_new,
)
from haven.cli.keyfiles import load_network_key, load_public_key_file, load_verify_key
from haven.cli.site_cmd import register_sign
from haven.directory import (
    DEFAULT_VALIDITY,
    DirectoryError,
    SeenVersionFile,
    accept_directory,
    empty_directory,
    key_entry,
    read_directory_document,
    sign_directory,
    verify_directory,
    with_partner,
    without_partner,
)
from haven.envelope import NetworkKey, wrap_private_key
from haven.seen import MAX_VALIDITY
from schemas.directory import Directory, dump_directory_payload


def register(commands: Commands) -> None:
    network = commands.add_parser("network", help="create a network").add_subparsers(
        dest="network_command", required=True
    )
    create = network.add_parser(
        "create",
        help="create a network: signing key and an empty signed directory",
        description="Create the network's Ed25519 signing key (wrapped under a passphrase), "
        "its verify key (to pin in every client), and version 1 of the directory.",
    )
    create.add_argument("--network-id", required=True, help="lower-case id, e.g. haven-demo")
    create.add_argument(
        "--key", type=Path, required=True, metavar="FILE", help="signing key file to write (0600)"
    )
    create.add_argument(
        "--verify-key", type=Path, required=True, metavar="FILE", help="verify key file to write"
    )
    create.add_argument(
        "--directory", type=Path, required=True, metavar="FILE", help="signed directory to write"
    )
    add_validity_option(create)
    add_passphrase_option(create)
    add_force_option(create)
    create.set_defaults(handler=run_create)
    register_sign(network)

    directory = commands.add_parser(
        "directory", help="edit and verify the signed directory"
    ).add_subparsers(dest="directory_command", required=True)
    add = directory.add_parser(
        "add-partner",
        help="add or update a partner and sign the next version",
        description="Add a partner (or replace the one with the same id) and sign the next directory version.",
    )
    add.add_argument(
        "--directory",
        type=Path,
        required=True,
        metavar="FILE",
        help="signed directory to update in place",
    )
    add.add_argument(
        "--key", type=Path, required=True, metavar="FILE", help="the network's signing key file"
    )
    add.add_argument(
        "--id", required=True, dest="partner_id", help="partner id, e.g. deserters-help"
    )
    add.add_argument("--name", required=True, help="display name shown to requesters")
    add.add_argument(
        "--categories", required=True, type=comma_list, help="comma-separated categories served"
    )
    add.add_argument(
        "--regions", required=True, type=comma_list, help="comma-separated regions served"
    )
    add.add_argument(
        "--languages", required=True, type=comma_list, help="comma-separated languages spoken"
    )
    add.add_argument(
        "--capacity", required=True, type=int, help="requests per day the partner can take"
    )
    add.add_argument(
        "--public-key",
        required=True,
        type=Path,
        action="append",
        metavar="FILE",
        help="partner public key file, as `haven keygen` or `haven public-key` writes it, "
        "with its signing key (repeat for rotation)",
    )
    add.add_argument(
        "--webhook",
        metavar="URL",
        help="deliver by HTTPS webhook instead of the partner's own queue",
    )
    add.add_argument(
        "--deadline-normal",
        type=int,
        default=72 * 3600,
        metavar="SECONDS",
        help="time to take a normal request (default 72 h)",
    )
    add.add_argument(
        "--deadline-urgent",
        type=int,
        default=6 * 3600,
        metavar="SECONDS",
        help="time to take an urgent request (default 6 h)",
    )
    add_validity_option(add)
    add_passphrase_option(add)
    add.set_defaults(handler=run_add_partner)

    remove = directory.add_parser(
        "remove-partner", help="remove a partner and sign the next version"
    )
    remove.add_argument("--directory", type=Path, required=True, metavar="FILE")
    remove.add_argument(
        "--key", type=Path, required=True, metavar="FILE", help="the network's signing key file"
    )
    remove.add_argument("--id", required=True, dest="partner_id")
    add_validity_option(remove)
    add_passphrase_option(remove)
    remove.set_defaults(handler=run_remove_partner)

    verify = directory.add_parser(
        "verify",
        help="verify a directory against the pinned network key",
        description="Verify signature, format, key ids, expiry, and (with --state) that it is not older than the last accepted.",
    )
    verify.add_argument("--directory", type=Path, required=True, metavar="FILE")
    verify.add_argument(
        "--network-key", type=Path, required=True, metavar="FILE", help="pinned network verify key"
    )
    verify.add_argument(
        "--state",
        type=Path,
        metavar="FILE",
        help="remember the newest accepted version here and refuse older ones",
    )
    verify.add_argument("--json", action="store_true", help="print the verified directory as JSON")
    verify.set_defaults(handler=run_verify)


def add_validity_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--valid-days",
        type=int,
        default=DEFAULT_VALIDITY.days,
        help=f"days until this version expires (default {DEFAULT_VALIDITY.days}, at most {MAX_VALIDITY.days})",
    )


def _validity(days: int) -> timedelta:
    if not 1 <= days <= MAX_VALIDITY.days:
        raise CliError(f"--valid-days must be between 1 and {MAX_VALIDITY.days}")
    return timedelta(days=days)


def _partners(directory: Directory) -> str:
    count = len(directory.partners)
    return f"{count} partner" if count == 1 else f"{count} partners"


def run_create(args: argparse.Namespace) -> int:
    validity = _validity(args.valid_days)
    passphrase = read_passphrase(args, confirm=True)
    key = NetworkKey.generate()
    try:
        directory = empty_directory(args.network_id, now=now(), validity=validity)
    except DirectoryError as exc:
        raise CliError(str(exc)) from None
    write_new(
        args.key,
        wrap_private_key(key.seed, passphrase, kind="network"),
        force=args.force,
        private=True,
    )
    write_new(args.verify_key, key.verify_key.to_text().encode("ascii") + b"\n", force=args.force)
    write_new(args.directory, sign_directory(directory, key), force=args.force)
    print(f"network {args.network_id}: verify key fingerprint {key.verify_key.fingerprint}")
    return 0


def _current(path: Path, key: NetworkKey) -> Directory:
    """The directory being edited, checked against the signing key's own verify key."""
    try:
        document = read_directory_document(path)
        # An expired directory may still be renewed by its own publisher.
        directory, _ = verify_directory(document, key.verify_key, now=now(), allow_expired=True)
    except DirectoryError as exc:
        raise CliError(str(exc)) from None
    return directory


def run_add_partner(args: argparse.Namespace) -> int:
    validity = _validity(args.valid_days)
    key = load_network_key(args.key, args)
    directory = _current(args.directory, key)
    files = [load_public_key_file(path) for path in args.public_key]
    entry: dict[str, Any] = {
        "id": args.partner_id,
        "display_name": args.name,
        "categories": args.categories,
        "regions": args.regions,
        "languages": args.languages,
        "capacity": args.capacity,
        "delivery": {"kind": "webhook", "url": args.webhook} if args.webhook else {"kind": "queue"},
        "keys": [key_entry(f.key, f.signing_key) for f in files],
        "response_deadline": {"normal": args.deadline_normal, "urgent": args.deadline_urgent},
    }
    try:
        updated = with_partner(directory, entry, now=now(), validity=validity)
    except DirectoryError as exc:
        raise CliError(str(exc)) from None
    write_new(args.directory, sign_directory(updated, key), force=True)
    print(f"directory version {updated.version}: {_partners(updated)}")
    for path, file in zip(args.public_key, files, strict=True):
        # Printed so the publisher compares them with what the partner read
        # out from `haven keygen`: a public key file swapped on its way here
        # shows another kid or another signing key.
        signing = base64.b64encode(file.signing_key).decode() if file.signing_key else "none"
        print(f"  kid {file.key.kid_hex} signing key {signing}")
        if file.signing_key is None:
            print(
                f"warning: {path} has no signing key: the intake will refuse this partner's "
                "replies until the partner runs `haven public-key` and the key is added again",
                file=sys.stderr,
            )
    return 0


def run_remove_partner(args: argparse.Namespace) -> int:
    validity = _validity(args.valid_days)
    key = load_network_key(args.key, args)
    directory = _current(args.directory, key)
    try:
        updated = without_partner(directory, args.partner_id, now=now(), validity=validity)
    except DirectoryError as exc:
        raise CliError(str(exc)) from None
    write_new(args.directory, sign_directory(updated, key), force=True)
    print(f"directory version {updated.version}: {_partners(updated)}")
    return 0


def load_verified(path: Path, network_key: Path, state: Path | None = None) -> Directory:
    return read_verified(path, network_key, state)[0]


def read_verified(
    path: Path, network_key: Path, state: Path | None = None
) -> tuple[Directory, bytes]:
    """The directory in `path`, verified, with the very bytes that were verified."""
    try:
        document = read_directory_document(path)
    except DirectoryError as exc:
        raise CliError(str(exc)) from None
    pinned = load_verify_key(network_key)
    try:
        directory = accept_directory(
            document, pinned, now=now(), state=SeenVersionFile(state) if state else None
        )
    except DirectoryError as exc:
        raise CliError(str(exc)) from None
    return directory, document


def run_verify(args: argparse.Namespace) -> int:
    directory = load_verified(args.directory, args.network_key, args.state)
    if args.json:
        print(json.dumps(dump_directory_payload(directory), ensure_ascii=False, indent=1))
        return 0
    print(
        f"directory {directory.network_id} version {directory.version}: valid until "
        f"{directory.expires_at:%Y-%m-%d %H:%M}Z, {_partners(directory)}"
    )
    for partner in directory.partners:
        print(
            f"  {partner.id:<24} {','.join(partner.categories)}  regions={','.join(partner.regions)}"
            f"  languages={','.join(partner.languages)}  keys={len(partner.keys)}"
            f"  signing keys={sum(1 for k in partner.keys if k.signing_key is not None)}"
        )
    return 0
