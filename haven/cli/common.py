"""Shared plumbing for the `haven` subcommands: errors, passphrases, files, time."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeAlias

from haven.files import FileTooLargeError, read_at_most, replace_atomically

# A passphrase is a line of text; nothing larger is one.
MAX_PASSPHRASE_FILE = 4096

Handler = Callable[[argparse.Namespace], int]
# A string: argparse's private action type is not subscriptable at run time.
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class CliError(Exception):
    """A failure the user can act on; printed as one line, never a traceback."""


def now() -> datetime:
    return datetime.now(UTC)


def read_passphrase(
    args: argparse.Namespace,
    *,
    confirm: bool = False,
    option: str = "passphrase_file",
    prompt: str = "Passphrase: ",
) -> str:
    """From --passphrase-file (or the file option named), else an interactive prompt; never from argv.

    A passphrase on the command line would sit in shell history and in the
    process list of a machine that may be seized or shared.
    """
    path: Path | None = getattr(args, option, None)
    if path is not None:
        # Bounded: a named pipe or /dev/zero given by mistake must not fill memory.
        try:
            text = read_at_most(path, MAX_PASSPHRASE_FILE).decode("utf-8")
        except OSError as exc:
            raise CliError(f"cannot read passphrase file {path}: {exc.strerror}") from None
        except FileTooLargeError as exc:
            raise CliError(f"passphrase file {path} is {exc}") from None
        except UnicodeDecodeError:
            raise CliError(f"passphrase file {path} is not UTF-8") from None
        passphrase = text.rstrip("\r\n")
    elif sys.stdin.isatty():
        passphrase = getpass.getpass(prompt)
        if confirm and getpass.getpass("Passphrase again: ") != passphrase:
            raise CliError("the two passphrases differ")
    else:
        raise CliError("no passphrase: give --passphrase-file, or run in a terminal to be asked")
    if not passphrase:
        raise CliError("the passphrase is empty")
    return passphrase


def read_bytes(path: Path, what: str, *, limit: int) -> bytes:
    try:
        return read_at_most(path, limit)
    except FileTooLargeError:
        raise CliError(f"{what} {path} is larger than {limit} bytes") from None
    except OSError as exc:
        raise CliError(f"cannot read {what} {path}: {exc.strerror}") from None


def is_stdin(path: Path | None) -> bool:
    return path is None or str(path) == "-"


def read_input(path: Path | None, what: str, *, limit: int) -> bytes:
    """A file's bytes, or standard input's for no path or `-`; never more than limit + 1 read."""
    if path is not None and not is_stdin(path):
        return read_bytes(path, what, limit=limit)
    if sys.stdin is None:
        raise CliError(f"no standard input to read the {what} from")
    # Bounded like read_at_most: an endless pipe is refused at limit + 1 bytes.
    data = sys.stdin.buffer.read(limit + 1)
    if len(data) > limit:
        raise CliError(f"{what} on standard input is larger than {limit} bytes")
    return data


def write_new(path: Path, data: bytes, *, force: bool, private: bool = False) -> None:
    """Write a file whole, or not at all (haven.files); private files are 0600 so no other user reads a key."""
    if path.exists() and not force:
        raise CliError(f"{path} exists; use --force to replace it")
    try:
        replace_atomically(path, data, mode=0o600 if private else 0o644)
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror}") from None


def add_passphrase_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--passphrase-file",
        type=Path,
        metavar="FILE",
        help="read the key's passphrase from FILE (first line) instead of asking",
    )


def add_force_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--force", action="store_true", help="replace existing output files")


def comma_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]
