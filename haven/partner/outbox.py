"""Writing to a requester's mailbox: replies and statuses, sealed, signed and posted to the intake.

A message answers one inbox entry (a request, or a follow-up) and goes to
the mailbox its content names (docs/replies-v1.md sections 3 and 4.1):

    the entry's mailbox id, reply key (and access hash, for a request)
    -> PartnerMessage -> sealed to the reply key, signed by the partner's key
    -> POST /v1/mailbox/messages -> recorded in the entry under "sent"

The intake learns which partner wrote to which mailbox, never what: the
text travels sealed. Nothing here writes a message's text, a mailbox id or
an access hash into a log line or an error: errors name the request id,
the field and the intake's refusal code, which is all a partner can act on.
"""

from __future__ import annotations

import base64
import binascii
import http.client
import json
import logging
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from haven.envelope import KeyFormatError, PublicKey
from haven.partner.inbox import FOLLOW_UP, PENDING, REFUSED, Entry, Inbox
from haven.replies import (
    MessageFormatError,
    PartnerMessage,
    SigningKey,
    WireMessage,
    format_sent_at,
    write_message,
)

# Ids and outcomes only.
log = logging.getLogger(__name__)

MESSAGES_PATH = "/v1/mailbox/messages"
# How the intake names a field of the body (docs/intake-api.md): "message.sealed".
_FIELD_NAME = re.compile(r"[a-z_]{1,32}(\.[a-z_]{1,32}){0,3}")
TIMEOUT_SECONDS = 30.0
# The states as a person types them on the command line, and as the spec names them.
STATE_NAMES: Mapping[str, str] = {
    "received": "received",
    "in-progress": "in_progress",
    "need-info": "need_info",
    "closed": "closed",
}

# What each refusal of the intake means for the partner (spec section 4.1).
# One line each; none repeats the mailbox id or the text.
REFUSALS: Mapping[str, str] = {
    "not_signed": "the intake does not accept this partner's signature: the directory it runs "
    "must list this key's signing key (ask the network's publisher), and --partner must be "
    "your id",
    "mailbox_unknown": "the requester's mailbox does not exist yet, and this entry holds no "
    "access hash to create it (answer the request itself first)",
    "mailbox_conflict": "the intake holds another access hash for this mailbox: the reply "
    "details in this entry do not match it, nothing was sent",
    "mailbox_full": "the requester's mailbox holds 100 messages, the most it can: nothing more "
    "can be sent until the requester deletes it",
    "mailbox_gone": "the requester has deleted this mailbox: nothing sent there would be read",
}


class OutboxError(Exception):
    """A message was not sent; the text says why in one line, without content or mailbox id.

    `code` is the intake's refusal code (section 4.1), when it gave one.
    """

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class IntakeUnreachable(OutboxError):  # noqa: N818 - named for what the caller handles
    """The intake did not answer: worth trying again later."""


@dataclass(frozen=True)
class MailboxSettings:
    """Where a partner posts replies and statuses: the network's intake."""

    intake_url: str
    timeout: float = TIMEOUT_SECONDS

    @classmethod
    def parse(cls, url: str, source: str) -> MailboxSettings:
        """From --intake-url or HAVEN_INTAKE_URL (`source` names which, for the error)."""
        parsed = urllib.parse.urlsplit(url.strip())
        try:
            port_ok = parsed.port is None or parsed.port > 0
        except ValueError:
            port_ok = False
        if (
            not port_ok
            or parsed.scheme not in ("http", "https")
            or not parsed.hostname
            or parsed.username is not None
            or parsed.query
            or parsed.fragment
        ):
            raise OutboxError(
                f"{source} must be the intake's http or https base URL, "
                "like https://intake.example.org"
            )
        return cls(urllib.parse.urlunsplit(parsed._replace(path=parsed.path.rstrip("/"))))


@dataclass(frozen=True)
class Thread:
    """What a message to one requester needs, read from an inbox entry.

    Its repr shows none of it: each value ties a log line to one requester.
    """

    mailbox_id: bytes = field(repr=False)
    reply_key: PublicKey = field(repr=False)
    access_hash: bytes | None = field(repr=False)


def _b64(entry: Entry, name: str, size: int | None) -> bytes | None:
    value = entry.content.get(name)
    if value is None:
        return None
    try:
        raw = base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if size is not None and len(raw) != size:
        raise OutboxError(f"{entry.request_id}: its {name} is not valid")
    return raw


def thread_of(entry: Entry, inbox: Inbox | None = None) -> Thread:
    """The mailbox a message about `entry` goes to; OutboxError if the requester gave none.

    A follow-up is answered only through the request it matches in `inbox`
    (same mailbox id and reply key, haven.partner.inbox.same_thread), with
    that request's reply key and access hash, never with keys the
    follow-up alone names: anyone, the intake included, can seal a
    follow-up, and only the request came from the requester for sure.
    """
    if entry.declined is not None:
        raise OutboxError(f"{entry.request_id}: declined; it is no longer yours to answer")
    source = entry
    if entry.kind == FOLLOW_UP:
        request = inbox.request_of(entry) if inbox is not None else None
        if request is None:
            raise OutboxError(
                f"{entry.request_id}: this follow-up matches no request in the inbox (the same "
                "mailbox and reply key): it may not come from the requester, so it is not answered"
            )
        source = request
    mailbox_id = _b64(source, "mailbox_id", 32)
    raw_key = _b64(source, "reply_key", None)
    if mailbox_id is None or raw_key is None:
        raise OutboxError(
            f"{entry.request_id}: the requester asked for no reply through Haven "
            "(no mailbox): use the contact channel in the request"
        )
    try:
        reply_key = PublicKey.from_bytes(raw_key)
    except KeyFormatError:
        raise OutboxError(f"{entry.request_id}: its reply_key is not valid") from None
    return Thread(mailbox_id, reply_key, _b64(source, "access_hash", 32))


def now_text() -> str:
    return format_sent_at(datetime.now(UTC))


def compose(
    entry: Entry,
    thread: Thread,
    partner_id: str,
    signer: SigningKey,
    *,
    state: str | None,
    text: str,
    sent_at: str,
) -> WireMessage:
    """A reply (state None) or a status, sealed to the requester and signed."""
    try:
        message = PartnerMessage(
            kind="reply" if state is None else "status",
            partner=partner_id,
            mailbox_id=thread.mailbox_id,
            request=entry.request_id,
            state=state,
            text=text,
            sent_at=sent_at,
        )
    except MessageFormatError as exc:
        # The field and the rule, never the value.
        raise OutboxError(f"{entry.request_id}: the message's {exc.field} {exc.reason}") from None
    return write_message(message, thread.reply_key, signer)


def _urllib_post(url: str, body: bytes, timeout: float) -> tuple[int, Mapping[str, Any]]:
    request = urllib.request.Request(  # noqa: S310 - the partner's own intake URL, http(s) checked
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310  # nosec B310
            return response.status, _json(response.read())
    except urllib.error.HTTPError as failure:
        # An HTTPError holds the connection: closed here, not by the collector.
        with failure:
            try:
                return failure.code, _json(failure.read())
            except (OSError, http.client.HTTPException):
                return failure.code, {}  # the status alone, its body cut short
    except (urllib.error.URLError, TimeoutError, OSError, http.client.HTTPException) as failure:
        # HTTPException: something answered that is not HTTP (a TLS port
        # asked in plain http, a proxy that cut the answer short). Like a
        # silent intake: one line, and a pending status stays pending.
        reason = getattr(failure, "reason", failure)
        raise IntakeUnreachable(
            f"cannot reach the intake at {url} ({type(reason).__name__})"
        ) from None


def _json(data: bytes) -> Mapping[str, Any]:
    try:
        answer = json.loads(data)
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def post(settings: MailboxSettings, thread: Thread, wire: WireMessage, request_id: str) -> str:
    """Post one message; its id once the intake stored it (or already had it)."""
    body: dict[str, Any] = {
        "mailbox_id": base64.b64encode(thread.mailbox_id).decode("ascii"),
        "message": wire.to_json(),
    }
    if thread.access_hash is not None:
        body["access_hash"] = base64.b64encode(thread.access_hash).decode("ascii")
    # Secrets in the body only, never in the URL.
    status, answer = _urllib_post(
        settings.intake_url + MESSAGES_PATH, json.dumps(body).encode(), settings.timeout
    )
    if status in (200, 201):
        if answer.get("id") != wire.message_id:
            raise OutboxError(f"{request_id}: the intake answered with another message id")
        return wire.message_id
    error = answer.get("error")
    code = error.get("code") if isinstance(error, dict) else None
    if isinstance(code, str) and code in REFUSALS:
        raise OutboxError(f"{request_id}: not sent: {REFUSALS[code]}", code)
    if status in (400, 422) and isinstance(error, dict):
        # The intake's field names are ours (the body above); its message names a rule.
        # Printed on the partner's terminal: only a field's name, never
        # whatever else (control characters, an escape sequence) an answer holds.
        named = error.get("field")
        if not isinstance(named, str) or not _FIELD_NAME.fullmatch(named):
            named = "body"
        raise OutboxError(f"{request_id}: the intake refused the message's {named} (HTTP {status})")
    if status in (502, 503, 504):
        raise IntakeUnreachable(
            f"the intake at {settings.intake_url} is unavailable (HTTP {status})"
        )
    raise OutboxError(f"{request_id}: not sent: the intake answered HTTP {status}")


def send(
    settings: MailboxSettings,
    inbox: Inbox,
    entry: Entry,
    partner_id: str,
    signer: SigningKey,
    *,
    state: str | None,
    text: str,
    sent_at: str | None = None,
) -> Entry:
    """Compose, post and record one message; the updated entry.

    A request whose automatic "received" status is still pending (the
    intake was away at the pull) gets it first: a requester's device shows
    the last status as the current one, so a late "received" must not land
    after the partner's own answer.
    """
    thread = thread_of(entry, inbox)
    if entry.received_status == PENDING and state != "received":
        entry = send(settings, inbox, entry, partner_id, signer, state="received", text="")
    when = sent_at or now_text()
    wire = compose(entry, thread, partner_id, signer, state=state, text=text, sent_at=when)
    message_id = post(settings, thread, wire, entry.request_id)
    record = {
        "id": message_id,
        "kind": "reply" if state is None else "status",
        "state": state,
        "text": text,
        "sent_at": when,
    }
    updated = inbox.record_sent(entry, record, received=state == "received")
    log.info("request %s: %s sent", entry.request_id, record["kind"])
    return updated


# Refusals that sending again cannot cure: the received status is given up.
FINAL_REFUSALS = frozenset({"mailbox_conflict", "mailbox_full", "mailbox_gone"})


@dataclass
class ReceivedReport:
    sent: int = 0
    pending: int = 0
    warnings: list[str] = field(default_factory=list)


def send_pending_received(
    settings: MailboxSettings | None, inbox: Inbox, partner_id: str, signer: SigningKey
) -> ReceivedReport:
    """The automatic "received" status of every request still waiting for it.

    Run after each pull: a status the intake did not take (it was down, or
    no intake URL was set) stays pending in its entry and is sent by a later
    pull. The first unreachable intake stops the round: one warning, not one
    per request.
    """
    report = ReceivedReport()
    waiting = [entry for entry in inbox.entries() if entry.received_status == PENDING]
    if not waiting:
        return report
    if settings is None:
        report.pending = len(waiting)
        report.warnings.append(
            f"{report.pending} automatic received status(es) not sent: no intake URL "
            "(give --intake-url or set HAVEN_INTAKE_URL); the next pull sends them"
        )
        return report
    for position, entry in enumerate(waiting):
        try:
            send(settings, inbox, entry, partner_id, signer, state="received", text="")
            report.sent += 1
        except IntakeUnreachable as exc:
            report.pending += len(waiting) - position
            report.warnings.append(
                f"{len(waiting) - position} automatic received status(es) not sent: {exc}; "
                "the next pull sends them"
            )
            return report
        except OutboxError as exc:
            # Refused for this request alone; the others still go. A refusal
            # that a retry cannot cure is given up, anything else (a
            # directory without our signing key yet) is tried again.
            log.warning("request %s: received status refused", entry.request_id)
            if exc.code in FINAL_REFUSALS:
                inbox.set_received(entry, REFUSED)
                report.warnings.append(f"received status {exc}")
            else:
                report.pending += 1
                report.warnings.append(f"received status {exc}; the next pull tries again")
    return report
