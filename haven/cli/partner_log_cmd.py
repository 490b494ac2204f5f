"""`haven partner log`: the team inbox's audit log, content-free, for a supervisor or a review.

Every action on the inbox (unlock, lock, pull, view, assignment, status,
note, reply, decline, export, team change) is an event sealed in the inbox
with the member and the time; this prints them oldest first, without the
text of any note or reply (haven.partner.audit).
"""

from __future__ import annotations

import argparse
import json

from haven.cli import team_cmd
from haven.cli.common import CliError, Commands
from haven.partner.audit import content_free, line
from haven.partner.inbox import Inbox, InboxError


def register(actions: Commands) -> None:
    log = actions.add_parser(
        "log",
        help="the team inbox's audit log: who did what, when (never a note's or reply's text)",
    )
    team_cmd.add_inbox(log)
    team_cmd.add_member_options(log)
    log.add_argument("--case", metavar="ID", help="only this request's events (64 hex digits)")
    log.add_argument("--json", action="store_true", help="one JSON object per line")
    log.set_defaults(handler=run_log)


def run_log(args: argparse.Namespace) -> int:
    unlocked = team_cmd.unlock_member(args)
    try:
        events = Inbox(args.inbox, unlocked).events(args.case)
    except InboxError as exc:
        raise CliError(f"{args.case or args.inbox}: {exc}") from None
    for event in events:
        record = content_free(event)
        print(json.dumps(record, ensure_ascii=False) if args.json else line(record))
    return 0
