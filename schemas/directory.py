"""The partner directory payload: the JSON document the network signs.

Signatures are checked elsewhere; this module only says what a well-formed
payload is. Clients encrypt to the keys listed here, so every field is
strict and every list bounded: a malformed directory is refused, not repaired.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_dump,
    post_load,
    validate,
    validates_schema,
)
from marshmallow.types import ErrorMessages

from schemas.base import Base64Bytes, StrictString
from schemas.errors import one_line
from schemas.routing import CATEGORIES, LANGUAGES, REGIONS
from schemas.validators import FullMatch, single_line

# The longest response deadline a directory may give a partner (14 days):
# the router's deadline cap and how long it remembers a used assignment
# (worker.settings) are measured against it.
MAX_DEADLINE_SECONDS = 1_209_600

PUBLIC_KEY_BYTES = 1216
# An Ed25519 public key: the key a partner signs its replies with
# (docs/replies-v1.md section 3.3).
SIGNING_KEY_BYTES = 32
MAX_PARTNERS = 200
MAX_KEYS = 4
# Integers stay below 2**53 so that a browser reads exactly the same number.
MAX_VERSION = 2**53 - 1
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# Anchored as JSON Schema reads it (schemas/validators.py); applied with fullmatch.
TIME_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$"
_TIME_RE = re.compile(TIME_PATTERN)


class DirectoryFormatError(ValueError):
    """The payload is not a well-formed directory; the message names the field path and reason."""


@dataclass(frozen=True)
class PartnerKey:
    kid: str
    public_key: bytes
    # Optional: a partner listed without one can take requests but cannot
    # write to a requester's mailbox (the intake refuses unsigned messages).
    signing_key: bytes | None = None


@dataclass(frozen=True)
class Delivery:
    kind: str
    url: str | None = None


@dataclass(frozen=True)
class Deadline:
    """Seconds a partner has to take a request before it is routed on."""

    normal: int
    urgent: int


@dataclass(frozen=True)
class Partner:
    id: str
    display_name: str
    categories: tuple[str, ...]
    regions: tuple[str, ...]
    languages: tuple[str, ...]
    capacity: int
    delivery: Delivery
    keys: tuple[PartnerKey, ...]
    response_deadline: Deadline


@dataclass(frozen=True)
class Directory:
    network_id: str
    version: int
    issued_at: dt.datetime
    expires_at: dt.datetime
    partners: tuple[Partner, ...]


class _Strict(Schema):
    class Meta:
        unknown = RAISE

    # marshmallow reads this class attribute; it is never mutated.
    error_messages = {  # noqa: RUF012
        "unknown": "unknown field",
        "type": "must be an object",
    }


def _messages(invalid: str) -> ErrorMessages:
    return {"required": "missing", "null": "must not be null", "invalid": invalid}


def _pattern(regex: str, what: str) -> StrictString:
    return StrictString(
        required=True,
        validate=FullMatch(regex, error=f"must be {what}"),
        error_messages=_messages("must be a string"),
    )


def _integer(low: int, high: int) -> fields.Integer:
    return fields.Integer(
        strict=True,
        required=True,
        validate=validate.Range(low, high, error="must be from {min} to {max}"),
        error_messages={**_messages("must be an integer"), "too_large": "too large"},
    )


def distinct(values: Sequence[object]) -> None:
    if len(set(values)) != len(values):
        raise ValidationError("must not list an item twice")


def _token_set(choices: tuple[str, ...]) -> fields.List[str]:
    return fields.List(
        StrictString(
            validate=validate.OneOf(choices, error="not one of: {choices}"),
            error_messages=_messages("must be a string"),
        ),
        required=True,
        validate=[
            validate.Length(min=1, max=len(choices), error="must list 1 to {max}"),
            distinct,
        ],
        error_messages=_messages("must be a list"),
    )


def https_url(value: str) -> None:
    # A webhook receives sealed requests; plain http would expose which
    # partner gets what and when. Credentials or a fragment in the URL are
    # refused rather than guessed at.
    error = ValidationError("must be an https:// URL with a host, no credentials, no fragment")
    if (
        not value.startswith("https://")
        or not value.isascii()
        or any(c.isspace() or not c.isprintable() for c in value)
    ):
        raise error
    try:
        parts = urlsplit(value)
        _ = parts.port
    except ValueError:
        raise error from None
    if (
        not parts.hostname
        or parts.username is not None
        or parts.password is not None
        or parts.fragment
    ):
        raise error


class UtcTime(StrictString):
    """RFC 3339 UTC with whole seconds, "Z" suffix; loads to an aware datetime."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not _TIME_RE.fullmatch(text):
            raise self.make_error("invalid")
        try:
            return dt.datetime.strptime(text, _TIME_FORMAT).replace(tzinfo=dt.UTC)
        except ValueError:
            raise self.make_error("invalid") from None

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str:
        if not isinstance(value, dt.datetime) or value.tzinfo is None or value.microsecond:
            raise ValueError(f"{attr}: needs an aware datetime in whole seconds")
        return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def _time() -> UtcTime:
    return UtcTime(
        required=True, error_messages=_messages('must be a UTC time like "2026-11-27T10:00:00Z"')
    )


class _KeySchema(_Strict):
    kid = _pattern(r"^[0-9a-f]{64}$", "64 lowercase hex characters")
    public_key = Base64Bytes(
        size=PUBLIC_KEY_BYTES,
        required=True,
        error_messages=_messages(f"must be standard base64 of exactly {PUBLIC_KEY_BYTES} bytes"),
    )
    signing_key = Base64Bytes(
        size=SIGNING_KEY_BYTES,
        error_messages=_messages(f"must be standard base64 of exactly {SIGNING_KEY_BYTES} bytes"),
    )

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> PartnerKey:
        return PartnerKey(**data)

    @post_dump
    def _drop_absent_signing_key(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if data.get("signing_key") is None:
            data.pop("signing_key", None)
        return data


class _DeliverySchema(_Strict):
    kind = StrictString(
        required=True,
        validate=validate.OneOf(("queue", "webhook"), error="not one of: {choices}"),
        error_messages=_messages("must be a string"),
    )
    url = StrictString(
        validate=[validate.Length(max=512, error="longer than {max} characters"), https_url],
        error_messages=_messages("must be a string"),
    )

    @validates_schema
    def _url_matches_kind(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        if data["kind"] == "webhook" and "url" not in data:
            raise ValidationError("missing for a webhook", "url")
        if data["kind"] == "queue" and "url" in data:
            raise ValidationError("not allowed for a queue", "url")

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> Delivery:
        return Delivery(**data)

    @post_dump
    def _drop_empty_url(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if data.get("url") is None:
            data.pop("url", None)
        return data


class _DeadlineSchema(_Strict):
    normal = _integer(600, MAX_DEADLINE_SECONDS)
    urgent = _integer(300, MAX_DEADLINE_SECONDS)

    @validates_schema
    def _urgent_is_sooner(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        if data["urgent"] > data["normal"]:
            raise ValidationError("must not be longer than normal", "urgent")

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> Deadline:
        return Deadline(**data)


class _PartnerSchema(_Strict):
    id = _pattern(r"^[a-z0-9-]{3,32}$", "3 to 32 characters of a-z 0-9 -")
    display_name = StrictString(
        required=True,
        # Shown to requesters: no control or bidi characters to disguise it.
        validate=[validate.Length(max=80, error="longer than {max} characters"), single_line],
        error_messages=_messages("must be a string"),
    )
    categories = _token_set(CATEGORIES)
    regions = _token_set(REGIONS)
    languages = _token_set(LANGUAGES)
    capacity = _integer(1, 10_000)
    delivery = fields.Nested(
        _DeliverySchema, required=True, error_messages=_messages("must be an object")
    )
    keys = fields.List(
        fields.Nested(_KeySchema),
        required=True,
        validate=validate.Length(min=1, max=MAX_KEYS, error="must list 1 to {max} keys"),
        error_messages=_messages("must be a list"),
    )
    response_deadline = fields.Nested(
        _DeadlineSchema, required=True, error_messages=_messages("must be an object")
    )

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> Partner:
        for name in ("categories", "regions", "languages", "keys"):
            data[name] = tuple(data[name])
        return Partner(**data)


class DirectoryPayloadSchema(_Strict):
    """The payload the network signs: who the partners are and which keys requests are sealed to."""

    network_id = _pattern(r"^[a-z0-9-]{3,64}$", "3 to 64 characters of a-z 0-9 -")
    version = _integer(1, MAX_VERSION)
    issued_at = _time()
    expires_at = _time()
    partners = fields.List(
        fields.Nested(_PartnerSchema),
        required=True,
        validate=validate.Length(max=MAX_PARTNERS, error="more than {max} partners"),
        error_messages=_messages("must be a list"),
    )

    @validates_schema
    def _consistent(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        if data["expires_at"] <= data["issued_at"]:
            raise ValidationError("must be after issued_at", "expires_at")
        # Partners are loaded already (post_load ran), so they are Partner objects.
        errors: dict[int, Any] = {}
        ids: set[str] = set()
        kids: set[str] = set()
        signing_keys: set[bytes] = set()
        for i, partner in enumerate(data["partners"]):
            if partner.id in ids:
                errors[i] = {"id": ["used by another partner"]}
            ids.add(partner.id)
            for j, key in enumerate(partner.keys):
                # A kid names exactly one key: a repeated kid would let one
                # entry stand in for another's key in an envelope.
                if key.kid in kids:
                    errors.setdefault(i, {}).setdefault("keys", {})[j] = {
                        "kid": ["used by another key"]
                    }
                kids.add(key.kid)
                # One signing key, one partner key: a signing key listed
                # twice would let one partner's entry sign for another's.
                if key.signing_key is not None:
                    if key.signing_key in signing_keys:
                        errors.setdefault(i, {}).setdefault("keys", {}).setdefault(j, {})[
                            "signing_key"
                        ] = ["used by another key"]
                    signing_keys.add(key.signing_key)
        if errors:
            raise ValidationError(errors, "partners")

    @post_load
    def _make(self, data: dict[str, Any], **kwargs: Any) -> Directory:
        data["partners"] = tuple(data["partners"])
        return Directory(**data)


def load_directory_payload(data: Mapping[str, Any]) -> Directory:
    """Validate a parsed directory payload. Raises `DirectoryFormatError` only."""
    if not isinstance(data, Mapping):
        raise DirectoryFormatError("payload: must be a JSON object")
    try:
        directory: Directory = DirectoryPayloadSchema().load(data)
    except ValidationError as exc:
        raise DirectoryFormatError(one_line(exc.messages)) from None
    return directory


def dump_directory_payload(d: Directory) -> dict[str, Any]:
    """The JSON-able payload of `d`; `load_directory_payload` of it gives `d` back."""
    payload: dict[str, Any] = DirectoryPayloadSchema().dump(d)
    return payload
