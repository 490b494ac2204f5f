"""Partner messages and follow-ups (docs/replies-v1.md sections 2, 3 and 5).

A partner's reply or status is a strict JSON plaintext, sealed with envelope
v1 to the requester's reply key, then signed with an Ed25519 key derived
from the partner's own X-Wing seed. The intake checks the signature and the
sealed form (it cannot open the message); the requester's device checks the
signature against the verified directory, opens, and checks the plaintext.

Errors never carry a message's text, a mailbox id or an access secret: they
name a field and a reason, or one of two refusals ("not_signed",
"unreadable"), because an error may reach a log or a screen.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from haven.envelope import (
    EnvelopeFormatError,
    KeyFormatError,
    Labels,
    OpenError,
    PrivateKey,
    PublicKey,
    digest,
    envelope_size,
    inspect,
    is_message_id,
    open_envelope,
    seal,
    strictjson,
)
from haven.envelope.layout import build_prefix

MESSAGE_VERSION = 1
KINDS = ("reply", "status")
STATES = ("received", "in_progress", "need_info", "closed")
MAX_REPLY_CHARS = 4000
MAX_STATUS_CHARS = 500
MAX_FOLLOW_UP_CHARS = 4000
MAILBOX_ID_BYTES = 32
ACCESS_SECRET_BYTES = 32
ACCESS_HASH_BYTES = 32
SIGNING_PUBLIC_BYTES = 32
SIGNATURE_BYTES = 64
REPLY_KEY_BYTES = 1216

ACCESS_HASH_CONTEXT = b"haven/replies/v1 access hash\x00"
SIGNING_KEY_INFO = b"haven/replies/v1 partner signing key"
SIGNED_CONTEXT = b"haven/replies/v1 partner message\x00"

# Section 3.2: the labels name nothing, so a stored message says nothing
# about the request it answers beyond its padding bucket.
REPLY_LABELS = Labels(category="reply", region="none", language="none", urgency="none")
# A message's padded content stays within the second bucket: a thread of
# 100 messages then fits the largest fetch answer (section 4.2).
MAX_PADDED_BYTES = 16384
MAX_PLAINTEXT_BYTES = MAX_PADDED_BYTES - 4
MAX_SEALED_BYTES = envelope_size(
    len(build_prefix(REPLY_LABELS, server_sealed=False)), 1, MAX_PADDED_BYTES
)

FOLLOW_UP_CATEGORY = "follow_up"
FOLLOW_UP_URGENCY = "normal"

# The directory's partner id (schemas/directory.py), repeated here because
# this package is pure; it also fits an envelope label, as a follow-up's
# region is the partner's id.
PARTNER_ID_RE = re.compile(r"[a-z0-9-]{3,32}\Z")
SENT_AT_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z\Z")
_SENT_AT_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# Section 3.1: text as a person typed it. Line feed is the only control
# character; a carriage return, an escape or a C1 control could rewrite
# what a terminal or a page shows around it. Lone surrogates are not text
# at all, and a JavaScript reader would count them differently.
_FORBIDDEN_TEXT_RE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


class MessageFormatError(ValueError):
    """A message, or one of its fields, is malformed. Names the field, never its value."""

    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(f"{field_name}: {reason}")
        self.field = field_name
        self.reason = reason


class MessageRefused(Exception):  # noqa: N818 - a refusal, named as callers read it
    """A message the requester's device must not show.

    `reason` is "not_signed" (no partner key of the directory signed it for
    this mailbox) or "unreadable" (it does not open, or its plaintext is not
    a valid message for this mailbox and partner). The two are all a reader
    learns: which check inside "unreadable" failed is not told, so a forged
    message is no oracle.
    """

    MESSAGES: Mapping[str, str] = {
        "not_signed": "the message is not signed by a partner of the directory",
        "unreadable": "the message cannot be read",
    }

    def __init__(self, reason: str) -> None:
        if reason not in self.MESSAGES:
            raise ValueError(f"unknown refusal reason {reason!r}")
        super().__init__(self.MESSAGES[reason])
        self.reason = reason


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def access_hash(access_secret: bytes) -> bytes:
    """What the partner hands the intake to create a mailbox (section 2).

    Holding it lets nobody read or delete the mailbox: the intake compares
    the requester's access secret against it.
    """
    if len(access_secret) != ACCESS_SECRET_BYTES:
        raise ValueError(f"an access secret is {ACCESS_SECRET_BYTES} bytes")
    return hashlib.sha256(ACCESS_HASH_CONTEXT + access_secret).digest()


def _signing_seed(private: PrivateKey) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=SIGNING_KEY_INFO).derive(
        private.seed
    )


@dataclass(frozen=True, eq=False)
class SigningKey:
    """A partner key's Ed25519 signing key, derived from its X-Wing seed (section 3.3).

    Derived, not stored: a partner keeps one secret, already wrapped at rest.
    """

    _key: ed25519.Ed25519PrivateKey = field(repr=False)

    @classmethod
    def from_partner_key(cls, private: PrivateKey) -> SigningKey:
        return cls(ed25519.Ed25519PrivateKey.from_private_bytes(_signing_seed(private)))

    @property
    def public_bytes(self) -> bytes:
        return self._key.public_key().public_bytes_raw()

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)

    def __repr__(self) -> str:
        return f"SigningKey(public={self.public_bytes.hex()[:16]}…)"


def signing_public_key(private: PrivateKey) -> bytes:
    """The 32 bytes the directory lists as this key's `signing_key`."""
    return SigningKey.from_partner_key(private).public_bytes


def signed_bytes(mailbox_id: bytes, partner: str, sealed: bytes) -> bytes:
    """What a partner signs: the mailbox and the partner are bound to the sealed bytes."""
    if len(mailbox_id) != MAILBOX_ID_BYTES:
        raise ValueError(f"a mailbox id is {MAILBOX_ID_BYTES} bytes")
    if not PARTNER_ID_RE.match(partner):
        raise ValueError("a partner id is 3 to 32 characters of a-z 0-9 -")
    return SIGNED_CONTEXT + mailbox_id + partner.encode("ascii") + b"\x00" + sealed


def _check_text(name: str, value: object, low: int, high: int) -> str:
    if not isinstance(value, str):
        raise MessageFormatError(name, "must be a string")
    # Characters are Unicode code points, not UTF-16 units (section 3.1).
    if not low <= len(value) <= high:
        raise MessageFormatError(name, f"must be {low} to {high} characters")
    if _FORBIDDEN_TEXT_RE.search(value):
        raise MessageFormatError(name, "has a control character other than a line break")
    return value


def _check_partner(name: str, value: object) -> str:
    if not isinstance(value, str) or not PARTNER_ID_RE.match(value):
        raise MessageFormatError(name, "must be 3 to 32 characters of a-z 0-9 -")
    return value


def _check_sent_at(value: object) -> str:
    if not isinstance(value, str) or not SENT_AT_RE.match(value):
        raise MessageFormatError("sent_at", 'must be a UTC time like "2026-11-27T10:00:00Z"')
    try:
        dt.datetime.strptime(value, _SENT_AT_FORMAT)
    except ValueError:
        raise MessageFormatError("sent_at", "is not a real date and time") from None
    return value


def format_sent_at(moment: dt.datetime) -> str:
    """A moment as `sent_at` (section 3.1): UTC, whole seconds, "Z"."""
    if moment.tzinfo is None:
        raise ValueError("sent_at needs an aware datetime")
    return moment.astimezone(dt.UTC).strftime(_SENT_AT_FORMAT)


def _check_bytes(name: str, value: object, size: int) -> bytes:
    if not isinstance(value, bytes) or len(value) != size:
        raise MessageFormatError(name, f"must be {size} bytes")
    return value


def _decode_b64(name: str, value: object, size: int) -> bytes:
    try:
        raw = strictjson.b64decode(value)
    except strictjson.StrictJSONError:
        raise MessageFormatError(name, f"must be standard base64 of {size} bytes") from None
    if len(raw) != size:
        raise MessageFormatError(name, f"must be standard base64 of {size} bytes")
    return raw


def _exact_members(obj: object, members: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(obj, dict):
        raise MessageFormatError("message", "must be a JSON object")
    if set(obj) != set(members):
        missing = [name for name in members if name not in obj]
        if missing:
            raise MessageFormatError(missing[0], "missing")
        # An unknown member's name came from the sender: it is not repeated.
        raise MessageFormatError("message", "has an unknown member")
    return obj


def _is_version(value: object) -> bool:
    # `True == 1` in Python: the type is checked, so JSON `true` is refused.
    return type(value) is int and value == MESSAGE_VERSION


def _to_json_bytes(document: Mapping[str, Any]) -> bytes:
    # Compact UTF-8, non-ASCII kept as is: the smallest plaintext, so the
    # longest allowed text fits its bucket (section 3.2).
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _parse_plaintext(data: bytes) -> Any:
    try:
        return strictjson.loads(data)
    except strictjson.StrictJSONError:
        raise MessageFormatError("message", "is not strict JSON") from None


_MESSAGE_MEMBERS = ("v", "kind", "partner", "mailbox_id", "request", "state", "text", "sent_at")


@dataclass(frozen=True)
class PartnerMessage:
    """A reply or a status, as a partner writes it and a requester reads it (section 3.1).

    Built only valid: the constructor checks every field and raises
    `MessageFormatError` naming the first bad one.
    """

    kind: str
    partner: str
    mailbox_id: bytes = field(repr=False)
    request: str
    state: str | None
    text: str = field(repr=False)
    sent_at: str

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise MessageFormatError("kind", 'must be "reply" or "status"')
        _check_partner("partner", self.partner)
        _check_bytes("mailbox_id", self.mailbox_id, MAILBOX_ID_BYTES)
        if not is_message_id(self.request):
            raise MessageFormatError("request", "must be 64 lowercase hex characters")
        if self.kind == "reply":
            if self.state is not None:
                raise MessageFormatError("state", "must be null for a reply")
            _check_text("text", self.text, 1, MAX_REPLY_CHARS)
        else:
            if self.state not in STATES:
                raise MessageFormatError("state", "not one of: " + ", ".join(STATES))
            _check_text("text", self.text, 0, MAX_STATUS_CHARS)
        _check_sent_at(self.sent_at)

    def to_plaintext(self) -> bytes:
        data = _to_json_bytes(
            {
                "v": MESSAGE_VERSION,
                "kind": self.kind,
                "partner": self.partner,
                "mailbox_id": b64(self.mailbox_id),
                "request": self.request,
                "state": self.state,
                "text": self.text,
                "sent_at": self.sent_at,
            }
        )
        if len(data) > MAX_PLAINTEXT_BYTES:  # pragma: no cover - the length limits keep it small
            raise MessageFormatError("message", f"larger than {MAX_PLAINTEXT_BYTES} bytes")
        return data

    @classmethod
    def parse(cls, data: bytes) -> PartnerMessage:
        """Parse a plaintext strictly; raises `MessageFormatError` naming what is wrong."""
        if len(data) > MAX_PLAINTEXT_BYTES:
            raise MessageFormatError("message", f"larger than {MAX_PLAINTEXT_BYTES} bytes")
        obj = _exact_members(_parse_plaintext(data), _MESSAGE_MEMBERS)
        if not _is_version(obj["v"]):
            raise MessageFormatError("v", f"must be {MESSAGE_VERSION}")
        for name in ("kind", "request", "text"):
            if not isinstance(obj[name], str):
                raise MessageFormatError(name, "must be a string")
        if obj["state"] is not None and not isinstance(obj["state"], str):
            raise MessageFormatError("state", "must be a string or null")
        return cls(
            kind=obj["kind"],
            partner=_check_partner("partner", obj["partner"]),
            mailbox_id=_decode_b64("mailbox_id", obj["mailbox_id"], MAILBOX_ID_BYTES),
            request=obj["request"],
            state=obj["state"],
            text=obj["text"],
            sent_at=_check_sent_at(obj["sent_at"]),
        )

    @classmethod
    def from_plaintext(cls, data: bytes) -> PartnerMessage:
        """Parse a plaintext strictly; any fault is `MessageRefused("unreadable")`."""
        try:
            return cls.parse(data)
        except MessageFormatError:
            raise MessageRefused("unreadable") from None


@dataclass(frozen=True)
class WireMessage:
    """A message as the intake stores it and a fetch returns it (section 3.4)."""

    partner: str
    sealed: bytes = field(repr=False)
    signature: bytes = field(repr=False)

    def __post_init__(self) -> None:
        _check_partner("partner", self.partner)
        if not isinstance(self.sealed, bytes) or not 0 < len(self.sealed) <= MAX_SEALED_BYTES:
            raise MessageFormatError("sealed", f"must be 1 to {MAX_SEALED_BYTES} bytes")
        _check_bytes("signature", self.signature, SIGNATURE_BYTES)

    @property
    def message_id(self) -> str:
        """The message's id: the digest of its sealed bytes, as a request's id is."""
        return digest(self.sealed)

    def to_json(self) -> dict[str, str]:
        return {
            "partner": self.partner,
            "sealed": b64(self.sealed),
            "signature": b64(self.signature),
        }

    @classmethod
    def from_json(cls, obj: object) -> WireMessage:
        """Read the wire object strictly; raises `MessageFormatError` naming the field."""
        members = _exact_members(obj, ("partner", "sealed", "signature"))
        partner = _check_partner("partner", members["partner"])
        sealed_text = members["sealed"]
        # Bounded before decoding: no large allocation for an oversized field.
        if not isinstance(sealed_text, str) or len(sealed_text) > 4 * (MAX_SEALED_BYTES // 3 + 1):
            raise MessageFormatError(
                "sealed", f"must be standard base64 of at most {MAX_SEALED_BYTES} bytes"
            )
        try:
            sealed = strictjson.b64decode(sealed_text)
        except strictjson.StrictJSONError:
            raise MessageFormatError("sealed", "must be standard base64") from None
        signature = _decode_b64("signature", members["signature"], SIGNATURE_BYTES)
        return cls(partner=partner, sealed=sealed, signature=signature)


def write_message(
    message: PartnerMessage,
    reply_key: PublicKey,
    signer: SigningKey,
    *,
    random_bytes: Callable[[int], bytes] = os.urandom,
) -> WireMessage:
    """Seal to the requester's reply key, then sign for this mailbox (sections 3.2, 3.3)."""
    sealed = seal(message.to_plaintext(), REPLY_LABELS, [reply_key], random_bytes=random_bytes)
    signature = signer.sign(signed_bytes(message.mailbox_id, message.partner, sealed))
    return WireMessage(partner=message.partner, sealed=sealed, signature=signature)


def check_signature(wire: WireMessage, mailbox_id: bytes, signing_keys: Sequence[bytes]) -> None:
    """Step 1 of section 3.5 (and the intake's signature check, section 4.1).

    `signing_keys` are the directory's signing keys of `wire.partner`; none
    (an unknown partner, or one without signing keys) refuses the message.
    Raises `MessageRefused("not_signed")`.
    """
    signed = signed_bytes(mailbox_id, wire.partner, wire.sealed)
    for raw in signing_keys:
        if len(raw) != SIGNING_PUBLIC_BYTES:
            continue
        try:
            ed25519.Ed25519PublicKey.from_public_bytes(raw).verify(wire.signature, signed)
        except (InvalidSignature, ValueError):
            continue
        return
    raise MessageRefused("not_signed")


def check_sealed_form(sealed: bytes) -> None:
    """The sealed bytes are what a partner message must be (section 3.2).

    An envelope v1 with one recipient, the reply labels, not marked as
    sealed by a server, and at most `MAX_PADDED_BYTES` of padded content.
    Checked by the intake before it stores a message (it cannot open it);
    raises `MessageFormatError("sealed", reason)`.
    """
    try:
        header = inspect(sealed)
    except EnvelopeFormatError:
        raise MessageFormatError("sealed", "is not an envelope v1") from None
    if len(header.kids) != 1:
        raise MessageFormatError("sealed", "must have exactly one recipient")
    if header.labels != REPLY_LABELS:
        raise MessageFormatError("sealed", "must carry the reply labels")
    if header.server_sealed:
        raise MessageFormatError("sealed", "must not be marked as sealed by a server")
    if header.bucket > MAX_PADDED_BYTES:
        raise MessageFormatError("sealed", f"must hold at most {MAX_PADDED_BYTES} bytes of content")


def read_message(
    wire: WireMessage,
    mailbox_id: bytes,
    reply_key: PrivateKey,
    signing_keys: Sequence[bytes],
) -> PartnerMessage:
    """Verify, open and check a message, in the order of section 3.5.

    Raises `MessageRefused` with reason "not_signed" or "unreadable".
    """
    check_signature(wire, mailbox_id, signing_keys)
    try:
        check_sealed_form(wire.sealed)
        opened = open_envelope(wire.sealed, [reply_key])
    except (MessageFormatError, OpenError):
        raise MessageRefused("unreadable") from None
    message = PartnerMessage.from_plaintext(opened.content)
    # The signature binds the wire's partner and this mailbox; the sealed
    # plaintext must say the same, or a partner could show its requester a
    # message that claims to come from another partner or another thread.
    if message.partner != wire.partner or message.mailbox_id != mailbox_id:
        raise MessageRefused("unreadable")
    return message


_FOLLOW_UP_MEMBERS = ("v", "kind", "mailbox_id", "reply_key", "text")


@dataclass(frozen=True)
class FollowUp:
    """A requester's answer to a partner (section 5): sealed to that partner alone."""

    mailbox_id: bytes = field(repr=False)
    reply_key: bytes = field(repr=False)
    text: str = field(repr=False)

    def __post_init__(self) -> None:
        _check_bytes("mailbox_id", self.mailbox_id, MAILBOX_ID_BYTES)
        _check_bytes("reply_key", self.reply_key, REPLY_KEY_BYTES)
        try:
            PublicKey.from_bytes(self.reply_key)
        except KeyFormatError:
            raise MessageFormatError("reply_key", "is not a valid X-Wing public key") from None
        _check_text("text", self.text, 1, MAX_FOLLOW_UP_CHARS)

    def to_plaintext(self) -> bytes:
        return _to_json_bytes(
            {
                "v": MESSAGE_VERSION,
                "kind": "follow_up",
                "mailbox_id": b64(self.mailbox_id),
                "reply_key": b64(self.reply_key),
                "text": self.text,
            }
        )

    @classmethod
    def parse(cls, data: bytes) -> FollowUp:
        """Parse a plaintext strictly; raises `MessageFormatError` naming what is wrong."""
        obj = _exact_members(_parse_plaintext(data), _FOLLOW_UP_MEMBERS)
        if not _is_version(obj["v"]):
            raise MessageFormatError("v", f"must be {MESSAGE_VERSION}")
        if obj["kind"] != "follow_up":
            raise MessageFormatError("kind", 'must be "follow_up"')
        if not isinstance(obj["text"], str):
            raise MessageFormatError("text", "must be a string")
        return cls(
            mailbox_id=_decode_b64("mailbox_id", obj["mailbox_id"], MAILBOX_ID_BYTES),
            reply_key=_decode_b64("reply_key", obj["reply_key"], REPLY_KEY_BYTES),
            text=obj["text"],
        )

    @classmethod
    def from_plaintext(cls, data: bytes) -> FollowUp:
        """Parse a plaintext strictly; any fault is `MessageRefused("unreadable")`."""
        try:
            return cls.parse(data)
        except MessageFormatError:
            raise MessageRefused("unreadable") from None


def follow_up_labels(partner_id: str, language: str) -> Labels:
    """The labels of a follow-up: authenticated, so it opens only for the partner it names."""
    _check_partner("partner", partner_id)
    try:
        return Labels(
            category=FOLLOW_UP_CATEGORY,
            region=partner_id,
            language=language,
            urgency=FOLLOW_UP_URGENCY,
        )
    except EnvelopeFormatError:
        raise MessageFormatError("language", "is not a language label") from None


def seal_follow_up(
    follow_up: FollowUp,
    partner_id: str,
    language: str,
    partner_keys: Sequence[PublicKey],
    *,
    random_bytes: Callable[[int], bytes] = os.urandom,
) -> bytes:
    """The follow-up's envelope, sealed to every current key of one partner (section 5)."""
    return seal(
        follow_up.to_plaintext(),
        follow_up_labels(partner_id, language),
        partner_keys,
        random_bytes=random_bytes,
    )
