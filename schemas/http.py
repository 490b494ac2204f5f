"""The intake's HTTP contract: a submission, a challenge, an acceptance, an error.

These schemas validate what a requester's device sends and generate the
OpenAPI document the browser and the CLI are written against
(docs/intake-api.md). Error messages name the field and the rule, never the
value: a rejected value is the requester's own text.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

from marshmallow import Schema, fields, post_load, validate
from marshmallow.types import ErrorMessages

from schemas.base import Base64Bytes, StrictSchema, StrictString
from schemas.routing import LANGUAGES, Routing, RoutingSchema
from schemas.validators import BASE64_PATTERN, FullMatch

# Mirrors haven.envelope.MAX_ENVELOPE_BYTES (docs/envelope-v1.md section 5);
# schemas may not import the envelope package, so a test holds the two equal.
MAX_ENVELOPE_BYTES = 104122
MAX_ENVELOPE_BASE64 = 4 * -(-MAX_ENVELOPE_BYTES // 3)

# A challenge token is 66 bytes (34 of body, 32 of HMAC) in unpadded
# base64url; intake.guards.pow defines the bytes, a test holds the two equal.
CHALLENGE_TOKEN_LENGTH = 88
# Anchored for readers of the OpenAPI document (JSON Schema patterns are
# ECMA-262, where `$` is the end of the input); in Python they are applied
# with FullMatch, never re.match, where `$` also matches before a final "\n".
CHALLENGE_PATTERN = r"^[A-Za-z0-9_-]{88}$"
# Decimal counters and hex strings are both spelled in this alphabet.
NONCE_PATTERN = r"^[0-9a-f]{1,32}$"
REQUEST_ID_PATTERN = r"^[0-9a-f]{64}$"

_ERRORS: ErrorMessages = {
    "required": "missing",
    "null": "must not be null",
    "invalid": "must be a string",
}
_STANDARD_BASE64 = re.compile(BASE64_PATTERN)


@dataclass(frozen=True)
class PowSolution:
    challenge: str
    nonce: str


@dataclass(frozen=True)
class Submission:
    """A validated submission: the envelope is still sealed and not yet inspected."""

    routing: Routing
    envelope: bytes
    pow: PowSolution


class EnvelopeField(StrictString):
    """The sealed envelope in canonical standard base64; loads to bytes."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            required=True,
            error_messages={
                **_ERRORS,
                "too_long": f"longer than {MAX_ENVELOPE_BASE64} characters",
                "not_base64": "not standard padded base64",
            },
            metadata={
                "description": "The sealed envelope (docs/envelope-v1.md), standard base64 with padding.",
                "format": "byte",
                "maxLength": MAX_ENVELOPE_BASE64,
                "pattern": BASE64_PATTERN,
            },
            **kwargs,
        )

    # Any, as Base64Bytes in base.py: a String field that loads to bytes.
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        # Length before decoding: the work done on a refused value is bounded.
        if len(text) > MAX_ENVELOPE_BASE64:
            raise self.make_error("too_long")
        if len(text) % 4 or not _STANDARD_BASE64.fullmatch(text):
            raise self.make_error("not_base64")
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise self.make_error("not_base64") from None
        # One envelope, one spelling: stray padding bits would let the same
        # bytes arrive as different strings.
        if base64.b64encode(raw).decode("ascii") != text:
            raise self.make_error("not_base64")
        return raw


class PowSolutionSchema(StrictSchema):
    """The solved proof-of-work: which challenge, and the nonce that solves it."""

    challenge = StrictString(
        required=True,
        validate=FullMatch(CHALLENGE_PATTERN, error="not a challenge token"),
        error_messages=_ERRORS,
        metadata={"description": "The `token` of a challenge from GET /v1/challenge."},
    )
    nonce = StrictString(
        required=True,
        validate=FullMatch(NONCE_PATTERN, error="1 to 32 characters of 0-9 a-f"),
        error_messages=_ERRORS,
        metadata={"description": "The solving nonce: a decimal counter or lowercase hex."},
    )

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> PowSolution:
        return PowSolution(**data)


class SubmissionSchema(StrictSchema):
    """POST /v1/requests: routing labels, the sealed envelope, the proof-of-work."""

    routing = fields.Nested(
        RoutingSchema,
        required=True,
        error_messages={"required": "missing", "null": "must not be null", "type": "not an object"},
        metadata={"description": "Must equal the labels inside the envelope."},
    )
    envelope = EnvelopeField()
    pow = fields.Nested(
        PowSolutionSchema,
        required=True,
        error_messages={"required": "missing", "null": "must not be null", "type": "not an object"},
    )

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> Submission:
        return Submission(**data)


# Mirrors haven.replies.MAX_SEALED_BYTES (docs/replies-v1.md section 3.2): a
# partner message's sealed bytes; a test holds the two equal.
MAX_SEALED_BYTES = 17659
MAX_SEALED_BASE64 = 4 * -(-MAX_SEALED_BYTES // 3)
# A directory partner id (schemas.directory), as a label and a wire message carry it.
PARTNER_ID_PATTERN = r"^[a-z0-9-]{3,32}$"
FOLLOW_UP_CATEGORY = "follow_up"
FOLLOW_UP_URGENCY = "normal"
_NESTED_ERRORS: ErrorMessages = {
    "required": "missing",
    "null": "must not be null",
    "type": "not an object",
}


def _base64_of(size: int, description: str, *, required: bool = True) -> Base64Bytes:
    field = Base64Bytes(
        size=size,
        required=required,
        error_messages={**_ERRORS, "invalid": f"must be standard base64 of {size} bytes"},
    )
    # For the OpenAPI document; Base64Bytes checks the value itself.
    field.metadata = {
        **field.metadata,
        "description": description,
        "format": "byte",
        "pattern": BASE64_PATTERN,
    }
    return field


@dataclass(frozen=True)
class MailboxWrite:
    """A partner's write, its form checked; the message's bytes are decoded and checked next (haven.replies)."""

    mailbox_id: bytes
    access_hash: bytes | None
    message: dict[str, str]


@dataclass(frozen=True)
class MailboxAccess:
    """A requester's fetch or delete: which mailbox, its access secret, the work paid."""

    mailbox_id: bytes
    access_secret: bytes
    pow: PowSolution


class WireMessageSchema(StrictSchema):
    """A partner's message as it travels and is stored (docs/replies-v1.md section 3.4)."""

    partner = StrictString(
        required=True,
        validate=FullMatch(PARTNER_ID_PATTERN, error="3 to 32 characters of a-z 0-9 -"),
        error_messages=_ERRORS,
        metadata={"description": "The writing partner's directory id."},
    )
    sealed = StrictString(
        required=True,
        validate=[
            validate.Length(
                min=1, max=MAX_SEALED_BASE64, error=f"1 to {MAX_SEALED_BASE64} characters"
            ),
            FullMatch(BASE64_PATTERN, error="not standard padded base64"),
        ],
        error_messages=_ERRORS,
        metadata={
            "description": "The message sealed to the requester's reply key (envelope v1, "
            "one recipient, the reply labels), standard base64.",
            "format": "byte",
        },
    )
    signature = StrictString(
        required=True,
        validate=FullMatch(BASE64_PATTERN, error="not standard padded base64"),
        error_messages=_ERRORS,
        metadata={
            "description": "Ed25519 by one of the partner's directory signing keys, over the "
            "mailbox id, the partner id and `sealed` (docs/replies-v1.md section 3.3); "
            "standard base64 of 64 bytes.",
            "format": "byte",
            "maxLength": 88,
        },
    )


class MailboxWriteSchema(StrictSchema):
    """POST /v1/mailbox/messages: a partner's signed, sealed message for one mailbox."""

    mailbox_id = _base64_of(32, "The mailbox: 32 bytes, standard base64.")
    access_hash = _base64_of(
        32,
        "The hash of the mailbox's access secret, from the request; required when the "
        "mailbox does not exist yet, and must equal the stored one when it does.",
        required=False,
    )
    message = fields.Nested(
        WireMessageSchema,
        required=True,
        error_messages=_NESTED_ERRORS,
        metadata={"description": "The message as on the wire (docs/replies-v1.md section 3.4)."},
    )

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> MailboxWrite:
        return MailboxWrite(
            mailbox_id=data["mailbox_id"],
            access_hash=data.get("access_hash"),
            message=data["message"],
        )


class MailboxAccessSchema(StrictSchema):
    """POST /v1/mailbox/fetch and /v1/mailbox/delete: the requester's mailbox, its secret, the work."""

    mailbox_id = _base64_of(32, "The mailbox: 32 bytes, standard base64.")
    access_secret = _base64_of(
        32,
        "The mailbox's access secret (docs/replies-v1.md section 1.6), standard base64. "
        "Only ever in a body, never in a URL.",
    )
    pow = fields.Nested(PowSolutionSchema, required=True, error_messages=_NESTED_ERRORS)

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> MailboxAccess:
        return MailboxAccess(**data)


def _fixed(value: str, description: str) -> StrictString:
    return StrictString(
        required=True,
        validate=validate.OneOf([value], error=f'must be "{value}"'),
        error_messages=_ERRORS,
        metadata={"description": description},
    )


class FollowUpRoutingSchema(StrictSchema):
    """A follow-up's labels: category follow_up, the partner's id as region, a language, normal."""

    category = _fixed(FOLLOW_UP_CATEGORY, "Always `follow_up`.")
    region = StrictString(
        required=True,
        validate=FullMatch(PARTNER_ID_PATTERN, error="3 to 32 characters of a-z 0-9 -"),
        error_messages=_ERRORS,
        metadata={"description": "The id of the partner the follow-up is for."},
    )
    language = StrictString(
        required=True,
        validate=validate.OneOf(LANGUAGES, error="not one of: {choices}"),
        error_messages=_ERRORS,
        metadata={"description": "The requester's language."},
    )
    urgency = _fixed(FOLLOW_UP_URGENCY, "Always `normal`.")

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> Routing:
        return Routing(**data)


class FollowUpSchema(StrictSchema):
    """POST /v1/follow-ups: a submission whose envelope is a follow-up to one partner."""

    routing = fields.Nested(
        FollowUpRoutingSchema,
        required=True,
        error_messages=_NESTED_ERRORS,
        metadata={"description": "Must equal the labels inside the envelope."},
    )
    envelope = EnvelopeField()
    pow = fields.Nested(PowSolutionSchema, required=True, error_messages=_NESTED_ERRORS)

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> Submission:
        return Submission(**data)


class MessageStoredSchema(Schema):
    """201 (stored) or 200 (that exact message was already there)."""

    id = fields.String(
        required=True,
        validate=FullMatch(REQUEST_ID_PATTERN),
        metadata={"description": "The message id: SHA-256 of `sealed`, lowercase hex."},
    )


class MailboxFetchedSchema(Schema):
    """A fetch: the messages, oldest first; none for an unknown mailbox, a wrong secret or an empty one."""

    messages = fields.List(fields.Nested(WireMessageSchema), required=True)
    padding = fields.String(
        required=True,
        metadata={
            "description": "Spaces, so the whole body is 64 KiB, 256 KiB, 1 MiB or 4 MiB: "
            "the smallest that holds it."
        },
    )


class DeletedSchema(Schema):
    """A delete: the same answer whether or not anything was deleted."""

    status = fields.String(required=True, validate=validate.OneOf(["deleted"]))


class ChallengeSchema(Schema):
    """GET /v1/challenge: a proof-of-work challenge, authenticated by the intake."""

    token = fields.String(
        required=True,
        validate=FullMatch(CHALLENGE_PATTERN),
        metadata={"description": "Opaque to clients except as input to the proof-of-work."},
    )
    difficulty = fields.Integer(
        required=True,
        validate=validate.Range(min=0, max=32),
        metadata={"description": "Leading zero bits the solution's hash must have."},
    )
    expires_at = fields.Integer(
        required=True,
        validate=validate.Range(min=0),
        metadata={"description": "Unix time (seconds) after which the challenge is refused."},
    )
    algorithm = fields.String(
        required=True,
        metadata={"description": "The proof-of-work, exactly (docs/intake-api.md)."},
    )


class AcceptedSchema(Schema):
    """202: the broker has confirmed the request on a durable queue."""

    id = fields.String(
        required=True,
        validate=FullMatch(REQUEST_ID_PATTERN),
        metadata={"description": "The request id: SHA-256 of the envelope, lowercase hex."},
    )
    status = fields.String(required=True, validate=validate.OneOf(["queued"]))


class FieldErrorSchema(Schema):
    field = fields.String(required=True)
    reason = fields.String(required=True)


class ErrorBodySchema(Schema):
    code = fields.String(
        required=True, metadata={"description": "Stable machine-readable error code."}
    )
    message = fields.String(
        required=True, metadata={"description": "English, for people; never echoes a value."}
    )
    field = fields.String(metadata={"description": "The field at fault, as a dotted path."})
    details = fields.List(
        fields.Nested(FieldErrorSchema),
        metadata={"description": "Every field at fault, when there are several."},
    )


class ErrorSchema(Schema):
    """Every 4xx and 5xx answer."""

    error = fields.Nested(ErrorBodySchema, required=True)


class StatusSchema(Schema):
    """GET /healthz and GET /readyz when all is well."""

    status = fields.String(required=True, validate=validate.OneOf(["alive", "ready"]))


class SignedDocumentSchema(Schema):
    """GET /v1/directory: the signed partner directory (docs/directory.md), as published."""

    format = fields.String(required=True, validate=validate.OneOf(["haven-signed-v1"]))
    purpose = fields.String(required=True, validate=validate.OneOf(["directory"]))
    payload = fields.String(
        required=True,
        metadata={"format": "byte", "description": "The directory payload, standard base64."},
    )
    signature = fields.String(
        required=True,
        metadata={"format": "byte", "description": "Ed25519 by the pinned network key."},
    )


__all__ = [
    "CHALLENGE_TOKEN_LENGTH",
    "MAX_ENVELOPE_BASE64",
    "MAX_ENVELOPE_BYTES",
    "MAX_SEALED_BYTES",
    "AcceptedSchema",
    "ChallengeSchema",
    "DeletedSchema",
    "EnvelopeField",
    "ErrorSchema",
    "FollowUpSchema",
    "FullMatch",
    "MailboxAccess",
    "MailboxAccessSchema",
    "MailboxFetchedSchema",
    "MailboxWrite",
    "MailboxWriteSchema",
    "MessageStoredSchema",
    "PowSolution",
    "PowSolutionSchema",
    "SignedDocumentSchema",
    "StatusSchema",
    "Submission",
    "SubmissionSchema",
    "WireMessageSchema",
]
