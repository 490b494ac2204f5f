"""`haven partner pull|list|show|decline`: the partner toolkit, run on a partner's own machine.

It needs only the partner's private key (and its passphrase) and the
partner's own broker URL, read from a file (it holds a password). Requests
are opened here and written to the inbox folder; nothing in clear goes back.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from haven.broker.declines import REROUTE_REASONS
from haven.broker.settings import BrokerSettings, SettingsError
from haven.cli.common import CliError, Commands, add_passphrase_option, read_bytes
from haven.cli.keyfiles import load_private_key
from haven.partner.inbox import Entry, Inbox, InboxError
from haven.partner.pull import PartnerSettings, PullError, PullReport, decline_taken, pull

# Reasons a person at the partner may give; undecryptable and
# invalid-content are decided by the toolkit itself.
_PERSON_REASONS = sorted(REROUTE_REASONS - {"webhook-refused"})


def _add_inbox(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--inbox", type=Path, required=True, metavar="DIR", help="the local inbox folder"
    )


def _add_broker(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--partner", required=True, metavar="ID", help="your partner id")
    parser.add_argument(
        "--broker-url-file",
        type=Path,
        metavar="FILE",
        help="file holding your broker URL (amqp://haven-partner-ID:PASSWORD@host/vhost); "
        "default: the HAVEN_AMQP_URL variable",
    )


def register(commands: Commands) -> None:
    partner = commands.add_parser(
        "partner",
        help="a partner's toolkit: pull requests, read them, decline",
        description="Run on a partner's own machine: pull this partner's requests, open them "
        "with its key, keep them in a local inbox (one file per request id), decline with a reason.",
    )
    actions = partner.add_subparsers(dest="action", required=True, metavar="ACTION")

    pull_parser = actions.add_parser("pull", help="take every waiting request into the inbox")
    _add_inbox(pull_parser)
    _add_broker(pull_parser)
    pull_parser.add_argument(
        "--key",
        type=Path,
        action="append",
        required=True,
        metavar="FILE",
        help="your private key file; repeat for a key being rotated out",
    )
    pull_parser.add_argument("--max", type=int, metavar="N", help="stop after N requests")
    add_passphrase_option(pull_parser)
    pull_parser.set_defaults(handler=run_pull)

    list_parser = actions.add_parser("list", help="list the requests in the inbox")
    _add_inbox(list_parser)
    list_parser.add_argument("--declined", action="store_true", help="list declined ones")
    list_parser.add_argument("--json", action="store_true")
    list_parser.set_defaults(handler=run_list)

    show = actions.add_parser("show", help="show one request")
    _add_inbox(show)
    show.add_argument("id", help="the request id (64 hex digits)")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=run_show)

    decline = actions.add_parser(
        "decline", help="hand a request back, so that the next eligible partner gets it"
    )
    _add_inbox(decline)
    _add_broker(decline)
    decline.add_argument("id", help="the request id (64 hex digits)")
    decline.add_argument("--reason", required=True, choices=_PERSON_REASONS)
    decline.set_defaults(handler=run_decline)


def _settings(args: argparse.Namespace) -> PartnerSettings:
    if args.broker_url_file is not None:
        url = read_bytes(args.broker_url_file, "broker URL file", limit=4096).decode(
            "utf-8", "replace"
        )
        url = url.strip()
    else:
        url = args.environ.get("HAVEN_AMQP_URL", "")
    if not url:
        raise CliError("no broker URL: give --broker-url-file or set HAVEN_AMQP_URL")
    try:
        return PartnerSettings(BrokerSettings(url=url), args.partner)
    except SettingsError as exc:
        # The message names the variable, never the URL (it holds a password).
        raise CliError(str(exc)) from None


class _Progress:
    """One line on standard error, rewritten in place on a terminal, every 100 otherwise."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()

    def __call__(self, report: PullReport) -> None:
        if self.tty:
            print(f"\r{report.line()}", end="", file=sys.stderr, flush=True)
        elif report.handled % 100 == 0:
            print(report.line(), file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.tty:
            print(file=sys.stderr)


def run_pull(args: argparse.Namespace) -> int:
    settings = _settings(args)
    keys = [load_private_key(path, args) for path in args.key]
    progress = _Progress()
    try:
        report = pull(settings, keys, Inbox(args.inbox), limit=args.max, progress=progress)
    except (PullError, InboxError) as exc:
        progress.done()
        raise CliError(str(exc)) from None
    progress.done()
    print(report.line())
    for reason, count in sorted(report.declined.items()):
        print(f"declined {count}: {reason}")
    return 0


def _summary(entry: Entry) -> dict[str, object]:
    return {
        "id": entry.request_id,
        "received_at": entry.received_at,
        **entry.routing,
        **({"declined": entry.declined} if entry.declined else {}),
    }


def run_list(args: argparse.Namespace) -> int:
    try:
        entries = list(Inbox(args.inbox).entries(declined=args.declined))
    except InboxError as exc:
        raise CliError(str(exc)) from None
    if args.json:
        print(json.dumps([_summary(entry) for entry in entries], ensure_ascii=False, indent=1))
        return 0
    if not entries:
        print("no requests")
        return 0
    print(f"{'received':20}  {'category':18} {'region':14} {'lang':4} {'urgency':7}  id")
    for entry in entries:
        r = entry.routing
        extra = f"  declined: {entry.declined}" if entry.declined else ""
        print(
            f"{entry.received_at:20}  {r.get('category', '-'):18} {r.get('region', '-'):14} "
            f"{r.get('language', '-'):4} {r.get('urgency', '-'):7}  {entry.request_id}{extra}"
        )
    return 0


def run_show(args: argparse.Namespace) -> int:
    try:
        entry = Inbox(args.inbox).entry(args.id)
    except InboxError as exc:
        raise CliError(f"{args.id}: {exc}") from None
    if args.json:
        print(json.dumps(entry.document(), ensure_ascii=False, indent=1))
        return 0
    r = entry.routing
    print(f"request {entry.request_id}, received {entry.received_at}")
    print(
        f"category: {r.get('category')}  region: {r.get('region')}  "
        f"language: {r.get('language')}  urgency: {r.get('urgency')}"
    )
    if entry.server_sealed:
        print("server-sealed: the intake saw this text in memory (sent without JavaScript)")
    if entry.declined:
        print(f"declined: {entry.declined}")
    sys.stdout.write(json.dumps(entry.content, ensure_ascii=False, indent=1) + "\n")
    return 0


def run_decline(args: argparse.Namespace) -> int:
    settings = _settings(args)
    try:
        decline_taken(settings, Inbox(args.inbox), args.id, args.reason)
    except (PullError, InboxError) as exc:
        raise CliError(f"{args.id}: {exc}") from None
    print(f"declined {args.id} ({args.reason}): it goes to the next eligible partner")
    return 0
