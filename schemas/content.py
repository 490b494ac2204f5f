"""The request content: the document sealed inside the envelope.

    {"v": 1, "category": <category>, "fields": {...},
     "reply_key": ..., "mailbox_id": ..., "access_hash": ...}   (the last three: all or none)

`v` is the content's own version, independent of the envelope's. `fields` is
validated by the schema of `category`; every field there has a maximum, so
the serialized document always fits the envelope's largest padding bucket.
The three reply members say where a partner writes back through Haven
(docs/replies-v1.md section 2).
Errors name the field and the reason, never the value: the value is the
request itself and must not reach a log.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from marshmallow import ValidationError, fields, post_load, validate

from schemas.base import Base64Bytes, StrictSchema, StrictString
from schemas.categories import CATEGORY_SCHEMAS
from schemas.errors import field_errors, one_line
from schemas.messages import en
from schemas.routing import CATEGORIES

CONTENT_VERSION = 1
# The largest padding bucket (65536) less its 4-byte length prefix.
MAX_SERIALIZED_CONTENT = 65532
# An X-Wing public key: ML-KEM-768 (1184 bytes) then X25519 (32 bytes).
REPLY_KEY_BYTES = 1216
MAILBOX_ID_BYTES = 32
ACCESS_HASH_BYTES = 32
# What a partner needs to write back through Haven: the key to seal to, the
# mailbox to write to, and the hash that creates it. One without the others
# is useless to the partner, so a document has all three or none.
REPLY_MEMBERS = ("reply_key", "mailbox_id", "access_hash")


class ContentError(ValueError):
    """Not a valid request. The message names fields and reasons, never values.

    `errors` holds (field path, reason) pairs for forms that mark each field.
    """

    def __init__(self, message: str, errors: tuple[tuple[str, str], ...]) -> None:
        super().__init__(message)
        self.errors = errors

    @classmethod
    def of_document(cls, reason: str) -> ContentError:
        return cls(f"document: {reason}", (("document", reason),))


@dataclass(frozen=True)
class RequestContent:
    """A validated request. `fields` is read-only; lists in it are tuples."""

    category: str
    fields: Mapping[str, object]
    reply_key: bytes | None = None
    mailbox_id: bytes | None = None
    access_hash: bytes | None = None


class RequestContentSchema(StrictSchema):
    """Loads a content document into `RequestContent`."""

    v = fields.Integer(
        strict=True,
        required=True,
        validate=validate.Equal(CONTENT_VERSION, error=f"must be {CONTENT_VERSION}"),
        error_messages={"required": en("required"), "invalid": f"must be {CONTENT_VERSION}"},
    )
    category = StrictString(
        required=True,
        validate=validate.OneOf(CATEGORIES, error="not one of: {choices}"),
        error_messages={"required": en("required"), "invalid": "must be a string"},
    )
    # Loaded as a plain object here, then by the schema of its category.
    fields_ = fields.Dict(
        data_key="fields",
        required=True,
        error_messages={"required": en("required"), "invalid": en("not_an_object")},
    )
    reply_key = Base64Bytes(
        size=REPLY_KEY_BYTES,
        error_messages={
            "null": "must not be null",
            "invalid": f"must be standard base64 of exactly {REPLY_KEY_BYTES} bytes",
        },
    )
    mailbox_id = Base64Bytes(
        size=MAILBOX_ID_BYTES,
        error_messages={
            "null": "must not be null",
            "invalid": f"must be standard base64 of exactly {MAILBOX_ID_BYTES} bytes",
        },
    )
    access_hash = Base64Bytes(
        size=ACCESS_HASH_BYTES,
        error_messages={
            "null": "must not be null",
            "invalid": f"must be standard base64 of exactly {ACCESS_HASH_BYTES} bytes",
        },
    )

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> RequestContent:
        try:
            loaded = CATEGORY_SCHEMAS[data["category"]]().load(data["fields_"])
        except ValidationError as exc:
            raise ValidationError({"fields": exc.messages}) from None
        reply = {name: data.get(name) for name in REPLY_MEMBERS}
        missing = [name for name, value in reply.items() if value is None]
        # A reply through Haven is sealed to reply_key and written to
        # mailbox_id: without them, the requester would never hear back.
        if loaded.get("contact_channel") == "haven_reply" and missing:
            raise ValidationError("required when fields.contact_channel is haven_reply", missing[0])
        if missing and len(missing) < len(REPLY_MEMBERS):
            raise ValidationError(
                "reply_key, mailbox_id and access_hash go together: all three or none",
                missing[0],
            )
        frozen = {
            name: tuple(value) if isinstance(value, list) else value
            for name, value in loaded.items()
        }
        return RequestContent(data["category"], MappingProxyType(frozen), **reply)


def load_content(data: Mapping[str, Any]) -> RequestContent:
    """Validate a content document (already parsed from JSON)."""
    if not isinstance(data, Mapping):
        raise ContentError.of_document("must be a JSON object")
    try:
        content: RequestContent = RequestContentSchema().load(data)
    except ValidationError as exc:
        # `from None`: the ValidationError carries the submitted data.
        raise ContentError(one_line(exc.messages), tuple(field_errors(exc.messages))) from None
    return content


def dump_content(content: RequestContent) -> dict[str, Any]:
    """The JSON-able document of `content`."""
    document: dict[str, Any] = {
        "v": CONTENT_VERSION,
        "category": content.category,
        "fields": {
            name: list(value) if isinstance(value, tuple) else value
            for name, value in content.fields.items()
        },
    }
    for name in REPLY_MEMBERS:
        value = getattr(content, name)
        if value is not None:
            document[name] = base64.b64encode(value).decode()
    return document


def content_to_json_bytes(content: RequestContent) -> bytes:
    """Canonical UTF-8 JSON: sorted keys, compact, non-ASCII kept as is (not as \\u escapes)."""
    document = dump_content(content)
    # Never seal what a partner would refuse: a RequestContent built by hand
    # is checked like one that was loaded.
    load_content(document)
    data = json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    if len(data) > MAX_SERIALIZED_CONTENT:
        raise ContentError.of_document(f"larger than {MAX_SERIALIZED_CONTENT} bytes")
    return data


class _DuplicateKeyError(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json keeps the last of two equal keys, a browser might show the first:
    # one document must not read two ways.
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _DuplicateKeyError
    return result


def _no_constants(name: str) -> Any:
    raise ValueError


def content_from_json_bytes(data: bytes) -> RequestContent:
    """Parse and validate a content document. Raises `ContentError` only."""
    if len(data) > MAX_SERIALIZED_CONTENT:
        raise ContentError.of_document(f"larger than {MAX_SERIALIZED_CONTENT} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        # Not str(exc): it quotes the offending bytes.
        raise ContentError.of_document("not UTF-8") from None
    try:
        document = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except _DuplicateKeyError:
        raise ContentError.of_document("a key appears twice in one object") from None
    except (ValueError, RecursionError):
        raise ContentError.of_document("not valid JSON") from None
    return load_content(document)
