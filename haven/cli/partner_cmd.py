"""`haven partner pull|list|show|decline|reply|status|team`: the partner toolkit, on a partner's own machine.

It needs a member of the team inbox and their passphrase (which unlocks
the partner's private key, haven.partner.team), the partner's own broker
URL, read from a file (it holds a password), and for answers the intake's
URL. Requests and follow-ups are kept sealed in the team inbox and opened
here, in memory; what goes back to a requester (a reply, a status) is
sealed to their reply key here and signed with the partner's key
(haven.partner.outbox).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from haven.broker.declines import REROUTE_REASONS
from haven.broker.settings import BrokerSettings, SettingsError, check_urls, split_urls
from haven.cli import partner_log_cmd, team_cmd
from haven.cli.common import CliError, Commands, read_bytes, read_input
from haven.cli.receipt import REPLY_MEMBERS
from haven.partner.case import Case
from haven.partner.entry import format_time
from haven.partner.inbox import FOLLOW_UP, Entry, Inbox, InboxError, same_thread
from haven.partner.outbox import (
    STATE_NAMES,
    IntakeUnreachable,
    MailboxSettings,
    OutboxError,
    send,
    send_pending_received,
)
from haven.partner.pull import PartnerSettings, PullError, PullReport, decline_taken, pull
from haven.replies import MAX_REPLY_CHARS, SigningKey

# Reasons a person at the partner may give; undecryptable and
# invalid-content are decided by the toolkit itself.
_PERSON_REASONS = sorted(REROUTE_REASONS - {"webhook-refused"})


def _add_inbox(parser: argparse.ArgumentParser) -> None:
    team_cmd.add_inbox(parser)
    team_cmd.add_member_options(parser)


def _add_partner(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--partner", required=True, metavar="ID", help="your partner id")


def _add_intake(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--intake-url",
        metavar="URL",
        help="the intake's base URL, where replies and statuses are posted; "
        "default: the HAVEN_INTAKE_URL variable",
    )


def _add_broker(parser: argparse.ArgumentParser) -> None:
    _add_partner(parser)
    parser.add_argument(
        "--broker-url-file",
        type=Path,
        metavar="FILE",
        help="file holding your broker URL (amqp://haven-partner-ID:PASSWORD@host/vhost), "
        "or one per line for each node of a cluster (tried in turn); "
        "default: the HAVEN_AMQP_URL variable",
    )


def register(commands: Commands) -> None:
    partner = commands.add_parser(
        "partner",
        help="a partner's toolkit: pull requests, read them, decline",
        description="Run on a partner's own machine: pull this partner's requests into the "
        "team inbox, sealed at rest, read them after a member unlocks it, decline with a reason.",
    )
    actions = partner.add_subparsers(dest="action", required=True, metavar="ACTION")
    team_cmd.register(actions)

    pull_parser = actions.add_parser(
        "pull",
        help="take every waiting request and follow-up into the inbox",
        description="Take every waiting request and follow-up into the inbox, then post the "
        "automatic received status of each new request that asked for replies through Haven.",
    )
    _add_inbox(pull_parser)
    _add_broker(pull_parser)
    _add_intake(pull_parser)
    pull_parser.add_argument("--max", type=int, metavar="N", help="stop after N requests")
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

    reply = actions.add_parser(
        "reply",
        help="send a reply to the requester of a request or follow-up",
        description="Seal a reply to the requester's reply key, sign it with your key and post "
        "it to their mailbox at the intake. Only the requester's receipt code opens it.",
    )
    reply.add_argument("id", help="the request or follow-up id (64 hex digits)")
    reply.add_argument(
        "--text-file",
        type=Path,
        required=True,
        metavar="FILE",
        help=f"the reply, UTF-8 text of 1 to {MAX_REPLY_CHARS} characters ('-': standard input)",
    )
    _add_inbox(reply)
    _add_partner(reply)
    _add_intake(reply)
    reply.set_defaults(handler=run_reply)

    status = actions.add_parser(
        "status",
        help="tell the requester where their request stands",
        description="Send a status (received, in-progress, need-info, closed), with an optional "
        "short note, to the requester's mailbox, sealed and signed like a reply.",
    )
    status.add_argument("id", help="the request or follow-up id (64 hex digits)")
    status.add_argument("state", choices=sorted(STATE_NAMES), metavar="STATE")
    status.add_argument("--text", default="", help="an optional note of at most 500 characters")
    _add_inbox(status)
    _add_partner(status)
    _add_intake(status)
    status.set_defaults(handler=run_status)

    # Imported here: the serve command reads this module's broker and intake settings.
    from haven.cli import partner_serve_cmd  # noqa: PLC0415

    partner_serve_cmd.register(actions)
    partner_log_cmd.register(actions)


def _settings(args: argparse.Namespace) -> PartnerSettings:
    # One URL or several (the nodes of one cluster, tried in turn),
    # separated by commas or whitespace: one per line in the file.
    if args.broker_url_file is not None:
        raw = read_bytes(args.broker_url_file, "broker URL file", limit=4096).decode(
            "utf-8", "replace"
        )
        source = "the broker URL file"
    else:
        raw = args.environ.get("HAVEN_AMQP_URL", "")
        source = "HAVEN_AMQP_URL"
    urls = split_urls(raw)
    if not urls:
        raise CliError("no broker URL: give --broker-url-file or set HAVEN_AMQP_URL")
    try:
        check_urls(urls, source)
        return PartnerSettings(BrokerSettings(urls=urls), args.partner)
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


def _mailbox_settings(args: argparse.Namespace, *, required: bool) -> MailboxSettings | None:
    """The intake to post to, from --intake-url or else HAVEN_INTAKE_URL, parsed once."""
    if args.intake_url:
        url, source = args.intake_url, "--intake-url"
    else:
        url, source = args.environ.get("HAVEN_INTAKE_URL", ""), "HAVEN_INTAKE_URL"
    if not url:
        if required:
            raise CliError("no intake URL: give --intake-url or set HAVEN_INTAKE_URL")
        return None
    try:
        return MailboxSettings.parse(url, source)
    except OutboxError as exc:
        raise CliError(str(exc)) from None


def _open(args: argparse.Namespace) -> Inbox:
    """The team inbox, unlocked by --member with their passphrase."""
    unlocked = team_cmd.unlock_member(args)
    try:
        return Inbox(args.inbox, unlocked)
    except InboxError as exc:
        raise CliError(str(exc)) from None


def _warn(line: str) -> None:
    print(f"haven: warning: {line}", file=sys.stderr)


def run_pull(args: argparse.Namespace) -> int:
    settings = _settings(args)
    mailbox = _mailbox_settings(args, required=False)
    inbox = _open(args)
    keys = [inbox.unlocked.key]
    progress = _Progress()
    try:
        report = pull(settings, keys, inbox, limit=args.max, progress=progress)
    except (PullError, InboxError) as exc:
        progress.done()
        raise CliError(str(exc)) from None
    progress.done()
    print(report.line())
    for reason, count in sorted(report.declined.items()):
        print(f"declined {count}: {reason}")
    # After the broker work: what was taken is safe in the inbox whatever
    # the intake answers, and a status not sent now is sent by a later pull.
    try:
        received = send_pending_received(
            mailbox, inbox, args.partner, SigningKey.from_partner_key(keys[0])
        )
    except InboxError as exc:
        raise CliError(str(exc)) from None
    if received.sent:
        print(f"received status sent: {received.sent}")
    for line in received.warnings:
        _warn(line)
    return 0


def _answer(args: argparse.Namespace, *, state: str | None, text: str) -> Entry:
    mailbox = _mailbox_settings(args, required=True)
    if mailbox is None:  # pragma: no cover - required=True raises instead
        raise CliError("no intake URL")
    inbox = _open(args)
    try:
        entry = inbox.entry(args.id)
    except InboxError as exc:
        raise CliError(f"{args.id}: {exc}") from None
    signer = SigningKey.from_partner_key(inbox.unlocked.key)
    try:
        return send(mailbox, inbox, entry, args.partner, signer, state=state, text=text)
    except IntakeUnreachable as exc:
        raise CliError(f"{args.id}: not sent: {exc}; try again later") from None
    except (OutboxError, InboxError) as exc:
        raise CliError(str(exc)) from None


# A reply is at most 4000 characters: 4 bytes each at most, and a margin
# for a byte-order mark and line ends; a larger file is not a reply.
_MAX_TEXT_FILE = 4 * MAX_REPLY_CHARS + 4096


def _read_text(path: Path) -> str:
    data = read_input(path, "reply text", limit=_MAX_TEXT_FILE)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise CliError(f"the reply text file {path} is not UTF-8") from None
    # As a person wrote it in an editor: a byte-order mark, Windows line
    # ends and the final line break are the file's, not the message's.
    return text.removeprefix("\ufeff").replace("\r\n", "\n").rstrip("\n")


def run_reply(args: argparse.Namespace) -> int:
    text = _read_text(args.text_file)
    entry = _answer(args, state=None, text=text)
    print(f"reply sent to the requester of {entry.request_id} (message {entry.sent[-1]['id']})")
    return 0


def run_status(args: argparse.Namespace) -> int:
    state = STATE_NAMES[args.state]
    entry = _answer(args, state=state, text=args.text)
    print(f"status {args.state} sent to the requester of {entry.request_id}")
    return 0


# Content members that carry the way back to the requester (REPLY_MEMBERS):
# used by reply and status, shown by --json, left out of the human-readable view.


def _thread_request(entry: Entry, entries: list[Entry]) -> Entry | None:
    """The request a follow-up answers (same mailbox and reply key), if it is in the inbox."""
    return next((e for e in entries if same_thread(entry, e)), None)


def _summary(entry: Entry, entries: list[Entry], case: Case | None) -> dict[str, object]:
    thread = _thread_request(entry, entries)
    out: dict[str, object] = {
        "id": entry.request_id,
        "kind": entry.kind,
        "received_at": entry.received_at,
        **entry.routing,
        **({"declined": entry.declined} if entry.declined else {}),
        **({"unreadable": True} if entry.unreadable else {}),
    }
    if entry.kind == FOLLOW_UP:
        out["thread"] = thread.request_id if thread is not None else None
    if entry.sent:
        out["sent"] = len(entry.sent)
    if entry.received_status is not None:
        out["received_status"] = entry.received_status
    if case is not None:
        out.update(_case_document(case))
    return out


def _case_document(case: Case) -> dict[str, object]:
    return {
        "status": case.status,
        "assignee": case.assignee,
        "deadline": format_time(case.deadline) if case.deadline is not None else None,
    }


def _case_line(case: Case | None) -> str:
    if case is None:
        return ""
    assigned = f"  assigned: {case.assignee}" if case.assignee else "  unassigned"
    return f"  status: {case.status}{assigned}"


UNREADABLE = "cannot be opened (a damaged item, or one a later version of Haven wrote)"


def _row(entry: Entry, case: Case | None) -> str:
    r = entry.routing
    if entry.unreadable:
        return f"{entry.received_at or '-':20}  {UNREADABLE}  {entry.request_id}"
    extra = f"  declined: {entry.declined}" if entry.declined else _case_line(case)
    if entry.sent:
        extra += f"  sent: {len(entry.sent)}"
    if entry.received_status not in (None, "sent"):
        extra += f"  received status: {entry.received_status}"
    if entry.kind == FOLLOW_UP:
        return f"{entry.received_at:20}  {'follow-up':18} {'':14} {r.get('language', '-'):4} {'':7}  {entry.request_id}{extra}"
    return (
        f"{entry.received_at:20}  {r.get('category', '-'):18} {r.get('region', '-'):14} "
        f"{r.get('language', '-'):4} {r.get('urgency', '-'):7}  {entry.request_id}{extra}"
    )


def run_list(args: argparse.Namespace) -> int:
    inbox = _open(args)
    try:
        entries = list(inbox.entries(declined=args.declined))
        cases = {} if args.declined else {c.entry.request_id: c for c in inbox.cases()}
    except InboxError as exc:
        raise CliError(str(exc)) from None
    if args.json:
        summaries = [_summary(e, entries, cases.get(e.request_id)) for e in entries]
        print(json.dumps(summaries, ensure_ascii=False, indent=1))
        return 0
    if not entries:
        print("no requests")
        return 0
    print(f"{'received':20}  {'category':18} {'region':14} {'lang':4} {'urgency':7}  id")
    # Each request with its follow-ups under it (threaded by mailbox); a
    # follow-up whose request is not here stands on its own.
    threaded = {e.request_id for e in entries if _thread_request(e, entries) is not None}
    for entry in entries:
        if entry.request_id in threaded:
            continue
        unmatched = (
            "  matches no request: not answerable"
            if entry.kind == FOLLOW_UP and not entry.unreadable
            else ""
        )
        print(_row(entry, cases.get(entry.request_id)) + unmatched)
        if entry.kind != FOLLOW_UP and entry.mailbox is not None:
            for other in entries:
                if other.request_id in threaded and same_thread(other, entry):
                    print(f"  -> {_row(other, cases.get(other.request_id))}")
    return 0


def _thread_lines(entry: Entry, inbox: Inbox) -> list[str]:
    """The conversation this entry is part of, oldest first: follow-ups and what was sent."""
    if entry.mailbox is None:
        return []
    items: list[tuple[str, str]] = []
    thread = inbox.thread(entry)
    if entry.kind == FOLLOW_UP and len(thread) == 1:
        items.append(
            (
                "",
                "this follow-up matches no request in the inbox (the same mailbox and reply "
                "key): it may not come from the requester, and it cannot be answered",
            )
        )
    for other in thread:
        if other.kind == FOLLOW_UP:
            items.append(
                (
                    other.received_at,
                    f"{other.received_at}  follow-up {other.request_id}:\n"
                    + _indent(str(other.content.get("text", ""))),
                )
            )
        for message in other.sent:
            what = message.get("kind", "?")
            if message.get("state"):
                what += f" {message['state']}"
            text = str(message.get("text") or "")
            items.append(
                (
                    str(message.get("sent_at", "")),
                    f"{message.get('sent_at')}  you sent a {what} (answering {other.request_id})"
                    + (":\n" + _indent(text) if text else ""),
                )
            )
    return [line for _, line in sorted(items, key=lambda item: item[0])]


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.split("\n"))


def _show_document(entry: Entry, case: Case | None) -> dict[str, object]:
    document = entry.document()
    if case is not None:
        document.update(_case_document(case))
        document["notes"] = [
            {"member": n.member, "at": format_time(n.at), "text": n.text} for n in case.notes
        ]
    return document


def _print_case(case: Case | None) -> None:
    if case is None:
        return
    deadline = format_time(case.deadline) if case.deadline is not None else "not known"
    print(f"case:{_case_line(case)}  deadline: {deadline}")
    for note in case.notes:
        print(f"note by {note.member}, {format_time(note.at)}:\n{_indent(note.text)}")


def run_show(args: argparse.Namespace) -> int:
    inbox = _open(args)
    try:
        entry = inbox.entry(args.id)
        case = inbox.case(args.id) if entry.declined is None else None
        thread = _thread_lines(entry, inbox) if entry.declined is None else []
        if entry.declined is None:
            # Who read which request, and when: the team's audit log. A
            # declined one shows only its id, labels and reason.
            inbox.record("viewed", args.id)
    except InboxError as exc:
        raise CliError(f"{args.id}: {exc}") from None
    if args.json:
        print(json.dumps(_show_document(entry, case), ensure_ascii=False, indent=1))
        return 0
    r = entry.routing
    if entry.kind == FOLLOW_UP:
        print(f"follow-up {entry.request_id}, received {entry.received_at}")
        print(f"language: {r.get('language')}")
    else:
        print(f"request {entry.request_id}, received {entry.received_at}")
        print(
            f"category: {r.get('category')}  region: {r.get('region')}  "
            f"language: {r.get('language')}  urgency: {r.get('urgency')}"
        )
    if entry.server_sealed:
        print("server-sealed: the intake saw this text in memory (sent without JavaScript)")
    if entry.declined:
        print(f"declined: {entry.declined}")
    _print_case(case)
    if entry.kind == FOLLOW_UP:
        print(_indent(str(entry.content.get("text", ""))))
    else:
        shown = {k: v for k, v in entry.content.items() if k not in REPLY_MEMBERS}
        sys.stdout.write(json.dumps(shown, ensure_ascii=False, indent=1) + "\n")
    if entry.mailbox is not None and entry.declined is None:
        status = entry.received_status
        print(
            "replies: through Haven (haven partner reply / status)"
            + (f"; automatic received status {status}" if status else "")
        )
        if thread:
            print("thread:")
            for line in thread:
                print(line)
    return 0


def run_decline(args: argparse.Namespace) -> int:
    settings = _settings(args)
    try:
        decline_taken(settings, _open(args), args.id, args.reason)
    except (PullError, InboxError) as exc:
        raise CliError(f"{args.id}: {exc}") from None
    print(f"declined {args.id} ({args.reason}): it goes to the next eligible partner")
    return 0
