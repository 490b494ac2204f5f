"""The requester's receipt code on the command line (docs/replies-v1.md sections 1 and 2).

Made when a request that asks for a reply through Haven is sealed, shown
once, and read back by `haven status` and `haven follow-up`. The code is the
only secret behind the requester's thread: it is written only where the
requester asked (standard output, or a new file of mode 0600), and no error
message here ever repeats a word of it.
"""

from __future__ import annotations

import argparse
import base64
import getpass
import json
import os
import sys
from pathlib import Path
from typing import Any

from haven.cli.common import CliError, read_bytes
from haven.replies import (
    CodeError,
    ReceiptCode,
    ReplyKeys,
    access_hash,
    derive,
    format_code,
    generate,
    parse,
)

HAVEN_REPLY = "haven_reply"
# The three members that travel with a request answered through Haven,
# all three or none (section 2).
REPLY_MEMBERS = ("reply_key", "mailbox_id", "access_hash")
# Nine words and whatever a person wrote around them; nothing larger is a code.
MAX_CODE_FILE = 4096
KEEP_ADVICE = (
    "Keep it where nobody else looks (on paper, or memorised): it is the only way "
    "to read the answers, and whoever holds it can read them too. Haven cannot show it again."
)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def wants_reply_keys(document: object) -> bool:
    """A content document that asks for a reply through Haven and carries no keys yet."""
    if not isinstance(document, dict):
        return False
    fields = document.get("fields")
    return (
        isinstance(fields, dict)
        and fields.get("contact_channel") == HAVEN_REPLY
        and not any(member in document for member in REPLY_MEMBERS)
    )


def with_reply_keys(raw: bytes, language: str) -> tuple[bytes, ReceiptCode | None]:
    """The content document with a new code's keys filled in, and that code; else unchanged.

    The keys go inside the sealed request only: the reply public key, the
    mailbox id, and the access hash (never the access secret, which only
    the code's holder can compute). The code's words are in the language
    the request is written in, the one its reply will come in.
    """
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):
        # Not ours to judge: the content parser names the problem.
        return raw, None
    if not wants_reply_keys(document):
        return raw, None
    try:
        code = generate(language)
    except ValueError:
        raise CliError(f"--language: no receipt-code word list for {language!r}") from None
    keys = derive(code)
    document.update(
        reply_key=_b64(keys.reply_key.public_key.to_bytes()),
        mailbox_id=_b64(keys.mailbox_id),
        access_hash=_b64(access_hash(keys.access_secret)),
    )
    return json.dumps(document, ensure_ascii=False).encode("utf-8"), code


def add_code_file_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--code-file",
        type=Path,
        metavar="FILE",
        help="write the receipt code of a request answered through Haven into FILE "
        "(a new file, mode 0600) instead of printing it",
    )


def reserve_code_file(path: Path | None) -> None:
    """Create the empty code file before anything is sent, or fail; never replace a file.

    Checked first so that a request is not sent whose code then has nowhere
    to go; created now, empty and 0600, so nobody else can read it once the
    code is in it.
    """
    if path is None:
        return
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise CliError(f"{path} exists; a receipt code never replaces a file") from None
    except OSError as exc:
        raise CliError(f"cannot create {path}: {exc.strerror}") from None
    os.close(descriptor)


def release_code_file(path: Path | None) -> None:
    """Remove a reserved code file that stayed empty because nothing was sent."""
    if path is not None and path.exists() and path.stat().st_size == 0:
        path.unlink()


def hand_over_code(code: ReceiptCode | None, path: Path | None) -> None:
    """Once the request has left: its code to the requester, or, with none, no empty file left behind."""
    if code is None:
        release_code_file(path)
    else:
        show_code(code, path)


def show_code(code: ReceiptCode, path: Path | None) -> None:
    """Hand the code to the requester, once: into the reserved file, else on standard output."""
    text = format_code(code)
    if path is not None:
        try:
            with path.open("w", encoding="utf-8") as out:
                out.write(text + "\n")
        except OSError as exc:
            # The request is already sent: losing the code would lose its
            # answers, so it is shown rather than dropped.
            print(f"cannot write {path} ({exc.strerror}); your receipt code is:\n{text}")
        else:
            print(f"receipt code written to {path} (readable by you alone)")
            print(KEEP_ADVICE)
            return
    else:
        print(f"receipt code: {text}")
    print(KEEP_ADVICE)


def read_code(path: Path | None) -> ReceiptCode:
    """The code from a file, or typed at a prompt that does not echo; errors name no word."""
    if path is not None:
        try:
            text = read_bytes(path, "receipt code file", limit=MAX_CODE_FILE).decode("utf-8")
        except UnicodeDecodeError:
            raise CliError(f"receipt code file {path} is not UTF-8") from None
        where = f"receipt code file {path}"
    elif sys.stdin is not None and sys.stdin.isatty():
        text = getpass.getpass("Receipt code: ")
        where = "receipt code"
    else:
        raise CliError("no receipt code: give --code-file, or run in a terminal to be asked")
    try:
        return parse(text)
    except CodeError as exc:
        # The message names a reason and a position (section 1.5): the words
        # are the secret, and this line may end up on a shared screen.
        raise CliError(f"{where}: {exc}") from None


def keys_of(path: Path | None) -> tuple[ReceiptCode, ReplyKeys]:
    code = read_code(path)
    return code, derive(code)


def mailbox_body(keys: ReplyKeys) -> dict[str, Any]:
    """The secrets a fetch or delete carries, in its body only (never a URL or a log)."""
    return {"mailbox_id": _b64(keys.mailbox_id), "access_secret": _b64(keys.access_secret)}
