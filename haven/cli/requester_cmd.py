"""`haven status` and `haven follow-up`: the requester's side of the thread, from the receipt code.

The code is read from a file or typed at a prompt that does not echo; the
keys are derived here (docs/replies-v1.md section 1.6), and only the mailbox
id and the access secret leave this machine, in request bodies. Every
message is verified against the directory the intake serves, itself
verified against the network key the requester pinned: a message that is
not provably from a partner of the network is never shown.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from haven.cli.common import CliError, Commands, read_bytes
from haven.cli.intake_client import fetch_directory
from haven.cli.receipt import keys_of
from haven.cli.requester import (
    delete_mailbox,
    display_name,
    fetch_wires,
    read_thread,
    send_follow_up,
)
from haven.replies import MAX_FOLLOW_UP_CHARS, ReplyKeys, Thread
from schemas.directory import Directory

NETWORK_KEY_ENV = "HAVEN_NETWORK_VERIFY_KEY_FILE"
# What each state means for the requester (section 3.1).
STATE_MEANINGS = {
    "received": "an organisation has received the request",
    "in_progress": "someone is working on it",
    "need_info": "the organisation needs more information: read the reply and answer "
    "with haven follow-up",
    "closed": "the organisation has finished with the request",
}
# A follow-up's text is at most MAX_FOLLOW_UP_CHARS characters; a file of more
# bytes than four per character cannot hold a valid one.
MAX_TEXT_FILE = 4 * MAX_FOLLOW_UP_CHARS
UNVERIFIED = "one message could not be verified: it is not shown"
# Message text is indented, so that nothing a message says can pass for a
# line of this command's own (a header, or the current status).
INDENT = "    "


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--code-file",
        type=Path,
        metavar="FILE",
        help="read the receipt code from FILE; without it, it is asked for without echo",
    )
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="the intake's base URL")
    parser.add_argument(
        "--network-key",
        type=Path,
        metavar="FILE",
        help=f"the network's verify key you pinned (default: ${NETWORK_KEY_ENV})",
    )


def register(commands: Commands) -> None:
    status = commands.add_parser(
        "status",
        help="read the answers to a request, from its receipt code",
        description="Fetch the mailbox of a receipt code, verify every message against the network's "
        "directory, and print the thread and the current status. With --delete, delete the mailbox "
        "and its messages instead.",
    )
    _common(status)
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.add_argument(
        "--delete",
        action="store_true",
        help="delete the mailbox and every message in it, now; the code then opens nothing",
    )
    status.set_defaults(handler=run_status)

    follow_up = commands.add_parser(
        "follow-up",
        help="answer the partner who wrote, from a receipt code",
        description="Seal a follow-up to the partner of the thread's latest message (or --partner) "
        "and send it through the intake.",
    )
    _common(follow_up)
    follow_up.add_argument(
        "--text-file", type=Path, required=True, metavar="FILE", help="the follow-up's text (UTF-8)"
    )
    follow_up.add_argument(
        "--partner", metavar="ID", help="the partner to answer, one who wrote in this thread"
    )
    follow_up.set_defaults(handler=run_follow_up)


def _network_key(args: argparse.Namespace) -> Path:
    if args.network_key is not None:
        return Path(args.network_key)
    environ: Mapping[str, str] = getattr(args, "environ", {})
    if environ.get(NETWORK_KEY_ENV):
        return Path(environ[NETWORK_KEY_ENV])
    raise CliError(
        f"give --network-key (the network's verify key you pinned) or set {NETWORK_KEY_ENV}"
    )


@dataclass(frozen=True)
class _Opened:
    """A code's keys and language, its verified thread, and the directory it was verified with."""

    keys: ReplyKeys
    language: str
    thread: Thread
    directory: Directory


def _open(args: argparse.Namespace) -> _Opened:
    network_key = _network_key(args)
    code, keys = keys_of(args.code_file)
    directory = fetch_directory(args.url.rstrip("/"), network_key)
    thread = read_thread(fetch_wires(args.url, keys), keys, directory)
    return _Opened(keys, code.language, thread, directory)


def _print_thread(thread: Thread, directory: Directory) -> None:
    for message in thread.messages:
        name = display_name(directory, message.partner)
        what = f"status: {message.state}" if message.kind == "status" else message.kind
        print(f"{message.sent_at}  {name} ({message.partner})  {what}")
        for line in message.text.split("\n") if message.text else ():
            print(f"{INDENT}{line}" if line else "")
        print()
    for _ in range(thread.refused):
        print(UNVERIFIED)
        print()
    if not thread.messages and not thread.refused:
        print("no messages yet")
    state = thread.state
    if state is None:
        print("current status: none yet")
    else:
        print(f"current status: {state} ({STATE_MEANINGS.get(state, state)})")


def _thread_json(thread: Thread, directory: Directory) -> dict[str, object]:
    return {
        "status": thread.state,
        "messages": [
            {
                "sent_at": m.sent_at,
                "partner": m.partner,
                "name": display_name(directory, m.partner),
                "kind": m.kind,
                "state": m.state,
                "request": m.request,
                "text": m.text,
            }
            for m in thread.messages
        ],
        "unverified": thread.refused,
    }


def run_status(args: argparse.Namespace) -> int:
    if args.delete:
        _, keys = keys_of(args.code_file)
        delete_mailbox(args.url, keys)
        # The same answer whether or not the mailbox existed (section 4.2).
        print("mailbox deleted: whatever it held is gone, and this code now opens nothing")
        return 0
    opened = _open(args)
    if args.json:
        document = _thread_json(opened.thread, opened.directory)
        print(json.dumps(document, ensure_ascii=False, indent=1))
    else:
        _print_thread(opened.thread, opened.directory)
    return 0


def _read_text(path: Path) -> str:
    try:
        text = read_bytes(path, "text file", limit=MAX_TEXT_FILE).decode("utf-8")
    except UnicodeDecodeError:
        raise CliError(f"--text-file: {path} is not UTF-8") from None
    # An editor's final line break is not part of what the person wrote.
    text = text.replace("\r\n", "\n").removesuffix("\n")
    if not text.strip():
        raise CliError(f"--text-file: {path} is empty")
    return text


def run_follow_up(args: argparse.Namespace) -> int:
    text = _read_text(args.text_file)
    opened = _open(args)
    writers = opened.thread.partners()
    if not writers:
        raise CliError(
            "no verified message in this thread yet: a follow-up answers a partner who wrote"
        )
    partner = args.partner or writers[-1]
    if partner not in writers:
        # A follow-up carries the mailbox id and the reply key: given to a
        # partner outside the thread, it would tell them of it.
        raise CliError(f"--partner: {partner!r} has not written in this thread")
    request_id = send_follow_up(
        args.url,
        opened.keys,
        language=opened.language,
        partner_id=partner,
        text=text,
        directory=opened.directory,
    )
    name = display_name(opened.directory, partner)
    print(f"follow-up sent to {name} ({partner}): {request_id}")
    return 0
