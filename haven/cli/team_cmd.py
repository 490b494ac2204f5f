"""`haven partner team init|add|remove|list`: who may unlock a team inbox.

Each member has their own passphrase; the organisation's key is wrapped
once per member in the inbox database (haven.partner.team). Passphrases
come from files or a prompt, never from the command line.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from haven.cli.common import CliError, Commands, add_passphrase_option, read_passphrase
from haven.cli.keyfiles import load_private_key
from haven.partner.migrate import plaintext_inbox
from haven.partner.team import (
    MIN_PASSPHRASE_CHARS,
    TeamError,
    Unlocked,
    add_member,
    init_team,
    members,
    plaintext_error,
    remove_member,
    unlock,
)


def add_inbox(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--inbox", type=Path, required=True, metavar="DIR", help="the team inbox folder"
    )


def add_member_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--member", required=True, metavar="NAME", help="your handle in the team inbox"
    )
    parser.add_argument(
        "--passphrase-file",
        type=Path,
        metavar="FILE",
        help="read your member passphrase from FILE (first line) instead of asking",
    )


def _add_new_passphrase(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--new-passphrase-file",
        type=Path,
        metavar="FILE",
        help=f"the new member's passphrase (first line, at least {MIN_PASSPHRASE_CHARS} "
        "characters); default: asked twice",
    )


def register(actions: Commands) -> None:
    team = actions.add_parser(
        "team",
        help="the members who may unlock the team inbox",
        description="A team inbox is unlocked by any member with their own passphrase: the "
        "organisation's key is wrapped once per member.",
    )
    commands = team.add_subparsers(dest="team_action", required=True, metavar="ACTION")

    init = commands.add_parser(
        "init",
        help="create the team inbox with its first member (seals an old plaintext inbox)",
        description="Create the team inbox in DIR with its first member. An old plaintext "
        "inbox in DIR is sealed into it, then its files are overwritten and removed.",
    )
    add_inbox(init)
    init.add_argument(
        "--key", type=Path, required=True, metavar="FILE", help="your private key file"
    )
    add_passphrase_option(init)
    init.add_argument("--member", required=True, metavar="NAME", help="the first member's handle")
    _add_new_passphrase(init)
    init.set_defaults(handler=run_init)

    add = commands.add_parser("add", help="give a new member their own passphrase")
    add_inbox(add)
    add_member_options(add)
    add.add_argument("--new-member", required=True, metavar="NAME", help="the new member's handle")
    _add_new_passphrase(add)
    add.set_defaults(handler=run_add)

    remove = commands.add_parser(
        "remove",
        help="remove a member's wrap of the key (see docs/operators.md, 'When a member leaves')",
    )
    add_inbox(remove)
    add_member_options(remove)
    remove.add_argument("name", metavar="NAME", help="the member to remove")
    remove.set_defaults(handler=run_remove)

    listing = commands.add_parser("list", help="list the members' handles")
    add_inbox(listing)
    listing.set_defaults(handler=run_list)


def unlock_member(args: argparse.Namespace) -> Unlocked:
    """The org key, unlocked with --member and their passphrase."""
    if plaintext_inbox(args.inbox):
        # Said before any passphrase is asked for: none would help.
        raise CliError(str(plaintext_error(args.inbox)))
    passphrase = read_passphrase(args, prompt=f"Passphrase of {args.member}: ")
    try:
        return unlock(args.inbox, args.member, passphrase)
    except TeamError as exc:
        raise CliError(str(exc)) from None


def _new_passphrase(args: argparse.Namespace, member: str) -> str:
    return read_passphrase(
        args, confirm=True, option="new_passphrase_file", prompt=f"New passphrase of {member}: "
    )


def run_init(args: argparse.Namespace) -> int:
    key = load_private_key(args.key, args)
    passphrase = _new_passphrase(args, args.member)
    try:
        migrated = init_team(args.inbox, key, args.member, passphrase)
    except TeamError as exc:
        raise CliError(str(exc)) from None
    print(f"team inbox created in {args.inbox}, with member {args.member}")
    if migrated:
        print(
            f"{migrated} request(s) of the plaintext inbox sealed into it; its plaintext files "
            "were overwritten and removed"
        )
    return 0


def run_add(args: argparse.Namespace) -> int:
    unlocked = unlock_member(args)
    passphrase = _new_passphrase(args, args.new_member)
    try:
        add_member(args.inbox, unlocked, args.new_member, passphrase)
    except TeamError as exc:
        raise CliError(str(exc)) from None
    print(f"{args.new_member} can now unlock the team inbox with their own passphrase")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    unlocked = unlock_member(args)
    try:
        remove_member(args.inbox, unlocked, args.name)
    except TeamError as exc:
        raise CliError(str(exc)) from None
    print(
        f"{args.name} removed: their passphrase no longer unlocks this inbox. A copy of the "
        "folder they made still opens with it: see docs/operators.md, 'When a member leaves'"
    )
    return 0


def run_list(args: argparse.Namespace) -> int:
    try:
        handles = members(args.inbox)
    except TeamError as exc:
        raise CliError(str(exc)) from None
    for handle in handles:
        print(handle)
    return 0
