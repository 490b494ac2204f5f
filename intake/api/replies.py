"""The two-way channel's API under /v1 (docs/replies-v1.md sections 4 and 5).

Partners write signed, sealed messages to a requester's mailbox; the
requester fetches and deletes it with the access secret, paying proof of
work; and answers one partner with a follow-up, a submission sealed to that
partner alone. Nothing here reads a message: the intake checks signatures
and envelope structure, stores and publishes. No mailbox id, secret,
message or partner id reaches a log line, a metric label or an error text.
"""

from __future__ import annotations

import hashlib
import json

from flask import Blueprint, Response, g, jsonify

from haven.directory import partner_by_id, signing_keys
from haven.replies import (
    FOLLOW_UP_CATEGORY,
    MessageFormatError,
    MessageRefused,
    WireMessage,
    access_hash,
    check_sealed_form,
    check_signature,
    fetch_response,
    mailbox_work_target,
)
from haven.store import StoreUnavailable, WriteOutcome
from intake.api.body import read_json
from intake.api.envelopes import (
    admit_sealed,
    publish_once,
    served_directory,
)
from intake.api.openapi import (
    NO_STORE,
    PAID_PARAMETER,
    POW_REFUSED,
    RETRY_AFTER,
    UNREADABLE,
    json_body,
    operation,
)
from intake.api.paid import admit_challenge, check_solution
from intake.api.submission import load_document
from intake.errors import ApiError
from intake.state import IntakeState, intake_state
from schemas.http import (
    AcceptedSchema,
    DeletedSchema,
    ErrorSchema,
    FollowUpSchema,
    MailboxAccess,
    MailboxAccessSchema,
    MailboxFetchedSchema,
    MailboxWrite,
    MailboxWriteSchema,
    MessageStoredSchema,
)

replies = Blueprint("replies", __name__, url_prefix="/v1")

# The largest write: a wire message with the largest sealed message in
# base64 (23548 characters), a signature, two ids and the JSON around them.
MAX_WRITE_BYTES = 32 * 1024
# A fetch or delete: two ids, a token and a nonce.
MAX_ACCESS_BYTES = 2048
# How long to wait when the store is away: a restart or a failover, not a person.
STORE_RETRY_AFTER = 30

_WRITE_SCHEMA = MailboxWriteSchema()
_ACCESS_SCHEMA = MailboxAccessSchema()
_FOLLOW_UP_SCHEMA = FollowUpSchema()

_REFUSED = {
    WriteOutcome.UNKNOWN: (
        "mailbox_unknown",
        "no such mailbox; send the access_hash from the request to make it",
        "access_hash",
    ),
    WriteOutcome.CONFLICT: (
        "mailbox_conflict",
        "access_hash differs from the mailbox's",
        "access_hash",
    ),
    WriteOutcome.FULL: ("mailbox_full", "the mailbox holds the most messages it may", None),
    WriteOutcome.GONE: ("mailbox_gone", "the requester deleted this mailbox", None),
}
_STORE_AWAY = json_body(
    ErrorSchema,
    "The store cannot be reached now (`unavailable`); try again after Retry-After.",
    headers=RETRY_AFTER,
)


@replies.post("/mailbox/messages", provide_automatic_options=False)
@operation(
    {
        "tags": ["replies"],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": MailboxWriteSchema}},
        },
        "responses": {
            "201": json_body(MessageStoredSchema, "Stored.", headers=NO_STORE),
            "200": json_body(
                MessageStoredSchema, "That exact message was already stored.", headers=NO_STORE
            ),
            **UNREADABLE,
            "403": json_body(
                ErrorSchema,
                "The partner is not in the directory, has no signing key, or the signature "
                "does not verify (`not_signed`).",
            ),
            "409": json_body(
                ErrorSchema,
                "No such mailbox and no `access_hash` (`mailbox_unknown`), `access_hash` "
                "differs from the mailbox's (`mailbox_conflict`), or the mailbox holds 100 "
                "messages (`mailbox_full`).",
            ),
            "410": json_body(ErrorSchema, "The requester deleted this mailbox (`mailbox_gone`)."),
            "422": json_body(ErrorSchema, "A field is malformed (`invalid`); `field` names which."),
            "503": _STORE_AWAY,
        },
    }
)
def write_message() -> tuple[Response, int]:
    """Write a partner's message to a requester's mailbox.

    For partners (`haven partner reply`, `haven partner status`). Checked in
    this order: the body's form (415, 413, 400, 422), the partner is in the
    current directory with a signing key and the signature verifies (403),
    `sealed` is an envelope v1 with one recipient and the reply labels (422),
    then the mailbox (409, 410). No proof of work: only a partner can sign.
    """
    state = intake_state()
    write: MailboxWrite = load_document(_WRITE_SCHEMA, read_json(MAX_WRITE_BYTES))
    try:
        wire = WireMessage.from_json(write.message)
    except MessageFormatError as exc:
        raise _message_invalid(exc) from None
    keys = signing_keys(served_directory(state).directory, wire.partner)
    try:
        check_signature(wire, write.mailbox_id, keys)
    except MessageRefused:
        _count_write(state, "not_signed")
        raise ApiError(
            "not_signed",
            "the message is not signed by a current signing key of that partner "
            "in the directory, for this mailbox",
            field="message.signature",
        ) from None
    try:
        check_sealed_form(wire.sealed)
    except MessageFormatError as exc:
        raise _message_invalid(exc) from None
    stored = json.dumps(wire.to_json(), separators=(",", ":"), sort_keys=True).encode("ascii")
    try:
        outcome = state.mailboxes.write(
            write.mailbox_id, write.access_hash, wire.message_id, stored
        )
    except StoreUnavailable:
        raise _store_away(state) from None
    _count_write(state, outcome.value)
    refused = _REFUSED.get(outcome)
    if refused is not None:
        code, message, field = refused
        raise ApiError(code, message, field=field)
    if outcome is WriteOutcome.ALREADY:
        g.outcome = "already"
        return jsonify(id=wire.message_id), 200
    return jsonify(id=wire.message_id), 201


@replies.post("/mailbox/fetch", provide_automatic_options=False)
@operation(
    {
        "tags": ["replies"],
        "parameters": [PAID_PARAMETER],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": MailboxAccessSchema}},
        },
        "responses": {
            "200": json_body(
                MailboxFetchedSchema,
                "The messages, oldest first. An unknown mailbox, a wrong secret and an empty "
                "mailbox all answer this, with no messages and the same size.",
                headers=NO_STORE,
            ),
            **UNREADABLE,
            "403": POW_REFUSED,
            "422": json_body(ErrorSchema, "A field is malformed (`invalid`); `field` names which."),
            "503": _STORE_AWAY,
        },
    }
)
def fetch() -> Response:
    """Fetch a mailbox's messages.

    For requesters, with the access secret derived from the receipt code.
    Checked in this order: the challenge token in the Haven-Pow-Challenge
    header (403, before the body is read), the body's form (415, 413, 400,
    422), the work over the mailbox's work target for "fetch" (403); each
    solution buys one fetch. The body is padded with spaces to 64 KiB,
    256 KiB, 1 MiB or 4 MiB.
    """
    state = intake_state()
    access, spent = _paid_access(state, "fetch")
    try:
        messages = state.mailboxes.fetch(access.mailbox_id, access_hash(access.access_secret))
    except StoreUnavailable:
        state.spent.forget(spent)
        raise _store_away(state) from None
    response = Response(fetch_response(messages), mimetype="application/json")
    # The padding is all spaces: a proxy that compressed the answer would
    # shrink it to the size of the messages, and an empty mailbox or a
    # wrong code would be told apart by size again on the wire.
    response.headers["Cache-Control"] = "no-store, no-transform"
    return response


@replies.post("/mailbox/delete", provide_automatic_options=False)
@operation(
    {
        "tags": ["replies"],
        "parameters": [PAID_PARAMETER],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": MailboxAccessSchema}},
        },
        "responses": {
            "200": json_body(
                DeletedSchema,
                "The same answer in every case; with the right secret the mailbox and its "
                "messages are deleted now.",
                headers=NO_STORE,
            ),
            **UNREADABLE,
            "403": POW_REFUSED,
            "422": json_body(ErrorSchema, "A field is malformed (`invalid`); `field` names which."),
            "503": _STORE_AWAY,
        },
    }
)
def delete() -> Response:
    """Delete a mailbox.

    For requesters, paid and checked like a fetch, with the work over the
    target for "delete". With the right secret the mailbox and its messages
    are deleted at once, and a partner writing to it later is told
    `mailbox_gone` until the retention has passed.
    """
    state = intake_state()
    access, spent = _paid_access(state, "delete")
    try:
        state.mailboxes.delete(access.mailbox_id, access_hash(access.access_secret))
    except StoreUnavailable:
        state.spent.forget(spent)
        raise _store_away(state) from None
    return jsonify(status="deleted")


@replies.post("/follow-ups", provide_automatic_options=False)
@operation(
    {
        "tags": ["replies"],
        "parameters": [PAID_PARAMETER],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": FollowUpSchema}},
        },
        "responses": {
            "202": json_body(
                AcceptedSchema,
                "Queued: the broker has confirmed the follow-up on a durable queue.",
                headers=NO_STORE,
            ),
            **UNREADABLE,
            "403": POW_REFUSED,
            "422": json_body(
                ErrorSchema,
                "The document breaks a rule (`invalid`, `envelope_invalid`, "
                "`routing_mismatch`, `partner_unknown`); `field` names where.",
            ),
            "503": json_body(
                ErrorSchema,
                "The follow-up could not be queued now (`unavailable`), or the directory has "
                "expired (`directory_expired`); send it again after Retry-After.",
                headers=RETRY_AFTER,
            ),
        },
    }
)
def follow_up() -> tuple[Response, int]:
    """Send a follow-up to one partner.

    A submission (the same body and checks, in the same order) whose
    routing is `follow_up`, the partner's id as region, the requester's
    language and `normal`; on top of a submission's checks, the region
    names a partner of the current directory (422 `partner_unknown`) and
    the envelope is sealed to exactly that partner's current keys, all of
    them and no other (422 `envelope_invalid`).
    """
    state = intake_state()
    sealed = admit_sealed(state, _FOLLOW_UP_SCHEMA)
    submission, request_id, parsed = sealed.submission, sealed.request_id, sealed.header
    directory = served_directory(state).directory
    partner = partner_by_id(directory, submission.routing.region)
    if partner is None:
        raise ApiError(
            "partner_unknown",
            "routing.region names no partner of the current directory",
            field="routing.region",
        )
    # Only that partner may open it: another partner's key (or a key outside
    # the directory) would hand the requester's answer to someone they never
    # wrote to, and a key left out would leave that partner's other members
    # unable to read it.
    if {kid.hex() for kid in parsed.kids} != {key.kid for key in partner.keys}:
        raise ApiError(
            "envelope_invalid",
            "envelope: a follow-up must be sealed to every current key of the partner it "
            "names and to no other key; fetch the directory again",
            field="envelope",
        )
    publish_once(state, submission.envelope, request_id, category=FOLLOW_UP_CATEGORY)
    return jsonify(id=request_id, status="queued"), 202


def _paid_access(state: IntakeState, action: str) -> tuple[MailboxAccess, str]:
    """A fetch or delete that has paid: the header's token, the body, the work for this mailbox.

    Also the solution's key, claimed in `state.spent` before the store is
    asked, for the caller to forget if the store is away (a solution refused
    for an outage may be sent again).
    """
    admitted = admit_challenge(state)
    access: MailboxAccess = load_document(_ACCESS_SCHEMA, read_json(MAX_ACCESS_BYTES))
    target = mailbox_work_target(action, access.mailbox_id)
    check_solution(state, admitted, access.pow, target, subject="mailbox")
    # One solution, one fetch: replayed for the token's lifetime, a
    # solution would buy a 64 KiB answer (and a query) as often as asked.
    # Claimed at once, not checked now and added after the answer: the same
    # solution sent many times at once would otherwise buy one fetch each.
    spent = hashlib.sha256(admitted.token.raw + target).hexdigest()
    if not state.spent.claim(spent):
        raise ApiError(
            "pow_invalid",
            "this solution was used already; fetch a new challenge and solve it again",
            field="pow.challenge",
        )
    return access, spent


def _message_invalid(exc: MessageFormatError) -> ApiError:
    field = f"message.{exc.field}" if exc.field != "message" else "message"
    return ApiError("invalid", f"{field}: {exc.reason}", field=field)


def _count_write(state: IntakeState, outcome: str) -> None:
    state.metrics.mailbox_writes.labels(outcome).inc()


def _store_away(state: IntakeState) -> ApiError:
    state.metrics.store_unavailable.inc()
    return ApiError(
        "unavailable",
        "the mailbox cannot be reached now; try again later",
        retry_after=STORE_RETRY_AFTER,
    )
