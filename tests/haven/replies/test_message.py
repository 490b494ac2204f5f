"""Partner messages and follow-ups (docs/replies-v1.md sections 2, 3 and 5)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from dataclasses import replace
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from haven.envelope import Labels, PrivateKey, inspect, open_envelope, seal
from haven.replies import (
    FOLLOW_UP_CATEGORY,
    MAX_REPLY_CHARS,
    MAX_SEALED_BYTES,
    MAX_STATUS_CHARS,
    REPLY_LABELS,
    STATES,
    FollowUp,
    MessageFormatError,
    MessageRefused,
    PartnerMessage,
    SigningKey,
    WireMessage,
    access_hash,
    check_sealed_form,
    check_signature,
    follow_up_labels,
    format_sent_at,
    read_message,
    seal_follow_up,
    signing_public_key,
    write_message,
)
from haven.replies.message import signed_bytes

PARTNER_KEY = PrivateKey.from_seed(bytes(range(32)))
OTHER_PARTNER_KEY = PrivateKey.from_seed(bytes(range(1, 33)))
REPLY_KEY = PrivateKey.from_seed(bytes([7]) * 32)
MAILBOX = bytes([1]) * 32
OTHER_MAILBOX = bytes([2]) * 32
REQUEST = "ab" * 32
SIGNER = SigningKey.from_partner_key(PARTNER_KEY)
SIGNING_KEYS = (SIGNER.public_bytes,)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def reply(text: str = "Мы получили ваш запрос.\nНапишите, где вы сейчас.") -> PartnerMessage:
    return PartnerMessage(
        kind="reply",
        partner="north-legal",
        mailbox_id=MAILBOX,
        request=REQUEST,
        state=None,
        text=text,
        sent_at="2026-11-30T08:00:00Z",
    )


def status(state: str = "received", text: str = "") -> PartnerMessage:
    return replace(reply(), kind="status", state=state, text=text)


def document(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(reply().to_plaintext())
    doc.update(changes)
    return doc


def raw(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode()


def sealed_wire(plaintext: bytes, labels: Labels = REPLY_LABELS, **kwargs: Any) -> WireMessage:
    """A wire message around any plaintext, correctly signed: only the inside is wrong."""
    sealed = seal(plaintext, labels, [REPLY_KEY.public_key], **kwargs)
    signature = SIGNER.sign(signed_bytes(MAILBOX, "north-legal", sealed))
    return WireMessage(partner="north-legal", sealed=sealed, signature=signature)


def refusal(wire: WireMessage, mailbox: bytes = MAILBOX, keys: Any = SIGNING_KEYS) -> str:
    with pytest.raises(MessageRefused) as caught:
        read_message(wire, mailbox, REPLY_KEY, keys)
    return caught.value.reason


# --- the access hash and the signing key ------------------------------------


def test_access_hash_is_sha256_of_its_context_and_the_secret() -> None:
    secret = bytes(range(32))
    expected = hashlib.sha256(b"haven/replies/v1 access hash\x00" + secret).digest()
    assert access_hash(secret) == expected
    with pytest.raises(ValueError, match="32 bytes"):
        access_hash(secret[:31])


def test_signing_key_is_ed25519_of_the_hkdf_of_the_x_wing_seed() -> None:
    seed = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=None,
        info=b"haven/replies/v1 partner signing key",
    ).derive(PARTNER_KEY.seed)
    public = ed25519.Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes_raw()
    assert SIGNER.public_bytes == public == signing_public_key(PARTNER_KEY)
    assert len(public) == 32
    assert signing_public_key(OTHER_PARTNER_KEY) != public
    # Derived, so the same partner key always gives the same signing key.
    assert (
        SigningKey.from_partner_key(PrivateKey.from_seed(PARTNER_KEY.seed)).public_bytes == public
    )
    assert PARTNER_KEY.seed.hex() not in repr(SIGNER)


def test_the_signature_covers_context_mailbox_partner_and_sealed_bytes() -> None:
    wire = write_message(reply(), REPLY_KEY.public_key, SIGNER)
    expected = b"haven/replies/v1 partner message\x00" + MAILBOX + b"north-legal\x00" + wire.sealed
    ed25519.Ed25519PublicKey.from_public_bytes(SIGNER.public_bytes).verify(wire.signature, expected)


def test_format_sent_at_is_utc_whole_seconds() -> None:
    kyiv = dt.timezone(dt.timedelta(hours=2))
    moment = dt.datetime(2026, 11, 30, 10, 0, 5, 999_999, tzinfo=kyiv)
    assert format_sent_at(moment) == "2026-11-30T08:00:05Z"
    assert replace(reply(), sent_at=format_sent_at(moment)).sent_at == "2026-11-30T08:00:05Z"
    with pytest.raises(ValueError, match="aware"):
        format_sent_at(dt.datetime(2026, 11, 30, 8))


# --- round trip ---------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [reply(), reply("x"), reply("я" * MAX_REPLY_CHARS)]
    + [status(state) for state in STATES]
    + [status("need_info", "Нужна копия повестки? Нет: только её дата."), status(text="ь" * 500)],
)
def test_round_trip(message: PartnerMessage) -> None:
    wire = write_message(message, REPLY_KEY.public_key, SIGNER)
    check_signature(wire, MAILBOX, SIGNING_KEYS)
    check_sealed_form(wire.sealed)
    back = WireMessage.from_json(json.loads(json.dumps(wire.to_json())))
    assert back == wire
    assert read_message(back, MAILBOX, REPLY_KEY, SIGNING_KEYS) == message
    assert len(wire.sealed) <= MAX_SEALED_BYTES
    assert wire.message_id == hashlib.sha256(wire.sealed).hexdigest()


def test_the_longest_reply_in_four_byte_characters_fits_the_second_bucket() -> None:
    message = reply("😀" * MAX_REPLY_CHARS)
    wire = write_message(message, REPLY_KEY.public_key, SIGNER)
    assert inspect(wire.sealed).bucket == 16384
    assert read_message(wire, MAILBOX, REPLY_KEY, SIGNING_KEYS) == message


def test_plaintext_is_compact_utf8_json_with_exactly_the_members() -> None:
    data = reply().to_plaintext()
    doc = json.loads(data)
    assert list(doc) == [
        "v", "kind", "partner", "mailbox_id", "request", "state", "text", "sent_at",
    ]  # fmt: skip
    assert doc["v"] == 1 and doc["state"] is None
    assert doc["mailbox_id"] == _b64(MAILBOX)
    assert "Мы".encode() in data  # not \u escapes


def test_any_signing_key_of_the_partner_verifies() -> None:
    wire = write_message(reply(), REPLY_KEY.public_key, SIGNER)
    keys = (signing_public_key(OTHER_PARTNER_KEY), SIGNER.public_bytes)
    assert read_message(wire, MAILBOX, REPLY_KEY, keys) == reply()


def test_the_wire_and_the_plaintext_keep_secrets_out_of_repr() -> None:
    wire = write_message(reply(), REPLY_KEY.public_key, SIGNER)
    assert "Напишите" not in repr(reply())
    assert _b64(MAILBOX) not in repr(reply()) and MAILBOX.hex() not in repr(reply())
    assert _b64(wire.signature) not in repr(wire)


# --- section 3.5's named negative cases -----------------------------------------


def test_not_signed_wrong_key() -> None:
    wire = write_message(
        reply(), REPLY_KEY.public_key, SigningKey.from_partner_key(OTHER_PARTNER_KEY)
    )
    assert refusal(wire) == "not_signed"


def test_not_signed_another_mailbox() -> None:
    wire = write_message(reply(), REPLY_KEY.public_key, SIGNER)
    assert refusal(wire, mailbox=OTHER_MAILBOX) == "not_signed"


def test_not_signed_another_partner_id() -> None:
    wire = write_message(reply(), REPLY_KEY.public_key, SIGNER)
    moved = replace(wire, partner="south-aid")
    assert refusal(moved) == "not_signed"


def test_not_signed_unknown_partner_or_no_signing_key() -> None:
    wire = write_message(reply(), REPLY_KEY.public_key, SIGNER)
    assert refusal(wire, keys=()) == "not_signed"
    # A malformed key in a caller's list is skipped, not an error.
    assert refusal(wire, keys=(b"short",)) == "not_signed"


def test_not_signed_a_flipped_bit_in_sealed_or_signature() -> None:
    wire = write_message(reply(), REPLY_KEY.public_key, SIGNER)
    sealed = bytearray(wire.sealed)
    sealed[-1] ^= 1
    assert refusal(replace(wire, sealed=bytes(sealed))) == "not_signed"
    signature = bytearray(wire.signature)
    signature[0] ^= 1
    assert refusal(replace(wire, signature=bytes(signature))) == "not_signed"


def test_not_signed_comes_before_anything_is_opened() -> None:
    # A message sealed to another reply key, signed by nobody we know: the
    # signature is what is reported, so a forger learns nothing of the key.
    wire = write_message(
        reply(), OTHER_PARTNER_KEY.public_key, SigningKey.from_partner_key(OTHER_PARTNER_KEY)
    )
    assert refusal(wire) == "not_signed"


def test_unreadable_sealed_to_another_key() -> None:
    wire = write_message(reply(), OTHER_PARTNER_KEY.public_key, SIGNER)
    assert refusal(wire) == "unreadable"


@pytest.mark.parametrize(
    "labels",
    [
        Labels("reply", "none", "none", "normal"),
        Labels("legal_aid", "none", "none", "none"),
        Labels("reply", "ru-central", "none", "none"),
        Labels("reply", "none", "ru", "none"),
    ],
)
def test_unreadable_wrong_labels(labels: Labels) -> None:
    assert refusal(sealed_wire(reply().to_plaintext(), labels)) == "unreadable"


def test_unreadable_server_sealed() -> None:
    assert refusal(sealed_wire(reply().to_plaintext(), server_sealed=True)) == "unreadable"


def test_unreadable_partner_mismatch() -> None:
    inner = replace(reply(), partner="south-aid")
    assert refusal(sealed_wire(inner.to_plaintext())) == "unreadable"


def test_unreadable_mailbox_mismatch() -> None:
    inner = replace(reply(), mailbox_id=OTHER_MAILBOX)
    assert refusal(sealed_wire(inner.to_plaintext())) == "unreadable"


def test_content_beyond_the_second_bucket_is_not_a_message() -> None:
    plaintext = reply().to_plaintext()
    padded = plaintext.replace(b'"v":1', b'"v":1' + b" " * 17000)
    sealed = seal(padded, REPLY_LABELS, [REPLY_KEY.public_key])
    assert len(sealed) > MAX_SEALED_BYTES
    with pytest.raises(MessageFormatError) as caught:
        WireMessage.from_json(
            {"partner": "north-legal", "sealed": _b64(sealed), "signature": _b64(bytes(64))}
        )
    assert caught.value.field == "sealed"


# --- strictness of the plaintext ----------------------------------------------------


def unreadable_plaintext(data: bytes) -> None:
    with pytest.raises(MessageRefused) as caught:
        PartnerMessage.from_plaintext(data)
    assert caught.value.reason == "unreadable"
    # And through the whole path: sealed, signed, still unreadable.
    assert refusal(sealed_wire(data)) == "unreadable"


def test_unknown_member() -> None:
    unreadable_plaintext(raw(document(extra=1)))


def test_missing_member() -> None:
    doc = document()
    del doc["sent_at"]
    unreadable_plaintext(raw(doc))


def test_duplicate_member() -> None:
    data = reply().to_plaintext()
    assert data.endswith(b"}")
    unreadable_plaintext(data[:-1] + b',"text":"other"}')


@pytest.mark.parametrize(
    "changes",
    [
        {"v": 2},
        {"v": True},
        {"v": 1.0},
        {"v": "1"},
        {"kind": "note"},
        {"kind": None},
        {"partner": "North-Legal"},
        {"partner": "xy"},
        {"partner": 7},
        {"mailbox_id": _b64(MAILBOX)[:-4]},
        {"mailbox_id": base64.urlsafe_b64encode(bytes([0xFB]) * 32).decode()},
        {"mailbox_id": _b64(MAILBOX).rstrip("=")},
        {"request": "AB" * 32},
        {"request": "ab" * 31},
        {"state": "received"},  # a reply has no state
        {"kind": "status", "state": None},
        {"kind": "status", "state": "lost"},
        {"kind": "status", "state": 1},
        {"text": ""},  # a reply says something
        {"text": 5},
        {"sent_at": "2026-11-30T08:00:00+00:00"},
        {"sent_at": "2026-02-30T08:00:00Z"},
        {"sent_at": "2026-11-30 08:00:00Z"},
        {"sent_at": "２026-11-30T08:00:00Z"},
    ],
    ids=repr,
)
def test_wrong_values(changes: dict[str, Any]) -> None:
    unreadable_plaintext(raw(document(**changes)))


@pytest.mark.parametrize("char", ["\x00", "\r", "\t", "\x1b", "\x7f", "\x85", "\x9f"], ids=repr)
def test_control_characters_other_than_line_feed(char: str) -> None:
    unreadable_plaintext(raw(document(text=f"до{char}после")))
    with pytest.raises(MessageFormatError) as caught:
        reply(f"до{char}после")
    assert caught.value.field == "text"


def test_lone_surrogate_is_not_text() -> None:
    unreadable_plaintext(reply().to_plaintext().replace("Мы".encode(), b"\\ud800"))


def test_length_limits() -> None:
    reply("я" * MAX_REPLY_CHARS)
    with pytest.raises(MessageFormatError, match="text: must be 1 to 4000 characters"):
        reply("я" * (MAX_REPLY_CHARS + 1))
    with pytest.raises(MessageFormatError, match="text: must be 1 to 4000"):
        reply("")
    status(text="")
    status(text="я" * MAX_STATUS_CHARS)
    with pytest.raises(MessageFormatError, match="text: must be 0 to 500"):
        status(text="я" * (MAX_STATUS_CHARS + 1))
    unreadable_plaintext(raw(document(text="я" * (MAX_REPLY_CHARS + 1))))
    unreadable_plaintext(raw(document(kind="status", state="closed", text="я" * 501)))
    # Code points, not UTF-16 units: 4000 emoji are 8000 units in JavaScript.
    assert PartnerMessage.parse(raw(document(text="😀" * MAX_REPLY_CHARS))).text == "😀" * 4000


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"[]",
        b"null",
        b'"text"',
        b"\xef\xbb\xbf" + reply().to_plaintext(),
        b"\xff{}",
        b"[" * 5000,
    ],
    ids=["empty", "list", "null", "string", "bom", "not-utf8", "deep"],
)
def test_not_a_json_object(data: bytes) -> None:
    with pytest.raises(MessageRefused):
        PartnerMessage.from_plaintext(data)


def test_errors_name_the_field_never_the_value() -> None:
    secret_text = "адрес: улица Ленина 1\x1b"
    with pytest.raises(MessageFormatError) as caught:
        PartnerMessage.parse(raw(document(text=secret_text)))
    assert caught.value.field == "text" and "Ленина" not in str(caught.value)
    with pytest.raises(MessageFormatError) as caught:
        PartnerMessage.parse(raw(document(**{"улица Ленина": 1})))
    assert "Ленина" not in str(caught.value)
    refused = MessageRefused("unreadable")
    assert str(refused) == "the message cannot be read"


# --- the wire form -------------------------------------------------------------


def wire_json(**changes: Any) -> dict[str, Any]:
    obj: dict[str, Any] = write_message(reply(), REPLY_KEY.public_key, SIGNER).to_json()
    obj.update(changes)
    return obj


@pytest.mark.parametrize(
    ("obj", "field"),
    [
        ([], "message"),
        ({"partner": "north-legal"}, "sealed"),
        ("not an object", "message"),
    ],
)
def test_wire_from_json_shape(obj: Any, field: str) -> None:
    with pytest.raises(MessageFormatError) as caught:
        WireMessage.from_json(obj)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"extra": "x"}, "message"),
        ({"partner": "North"}, "partner"),
        ({"partner": None}, "partner"),
        ({"sealed": "not base64!"}, "sealed"),
        ({"sealed": ""}, "sealed"),
        ({"sealed": 5}, "sealed"),
        ({"sealed": "A" * (4 * (MAX_SEALED_BYTES // 3 + 2))}, "sealed"),
        ({"signature": _b64(bytes(63))}, "signature"),
        ({"signature": _b64(bytes(64)).rstrip("=")}, "signature"),
    ],
    ids=repr,
)
def test_wire_from_json_fields(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(MessageFormatError) as caught:
        WireMessage.from_json(wire_json(**changes))
    assert caught.value.field == field


def test_sealed_form_is_what_the_intake_checks() -> None:
    good = write_message(reply(), REPLY_KEY.public_key, SIGNER).sealed
    check_sealed_form(good)
    cases = {
        "not an envelope": b"HVN\x01" + bytes(100),
        "two recipients": seal(b"{}", REPLY_LABELS, [REPLY_KEY.public_key, PARTNER_KEY.public_key]),
        "request labels": seal(
            b"{}", Labels("legal_aid", "ru-central", "ru", "normal"), [REPLY_KEY.public_key]
        ),
        "server sealed": seal(b"{}", REPLY_LABELS, [REPLY_KEY.public_key], server_sealed=True),
        "third bucket": seal(bytes(20000), REPLY_LABELS, [REPLY_KEY.public_key]),
    }
    for name, sealed in cases.items():
        with pytest.raises(MessageFormatError) as caught:
            check_sealed_form(sealed)
        assert caught.value.field == "sealed", name


# --- follow-ups ----------------------------------------------------------------


def follow_up(text: str = "Я в Ереване, паспорт есть.") -> FollowUp:
    return FollowUp(mailbox_id=MAILBOX, reply_key=REPLY_KEY.public_key.to_bytes(), text=text)


def test_follow_up_round_trip_opens_only_for_the_named_partner() -> None:
    envelope = seal_follow_up(follow_up(), "north-legal", "ru", [PARTNER_KEY.public_key])
    opened = open_envelope(envelope, [PARTNER_KEY])
    assert opened.labels == Labels(FOLLOW_UP_CATEGORY, "north-legal", "ru", "normal")
    assert opened.labels == follow_up_labels("north-legal", "ru")
    assert FollowUp.from_plaintext(opened.content) == follow_up()
    doc = json.loads(opened.content)
    assert doc == {
        "v": 1,
        "kind": "follow_up",
        "mailbox_id": _b64(MAILBOX),
        "reply_key": _b64(REPLY_KEY.public_key.to_bytes()),
        "text": "Я в Ереване, паспорт есть.",
    }


def test_follow_up_sealed_to_every_key_of_the_partner() -> None:
    keys = [PARTNER_KEY.public_key, OTHER_PARTNER_KEY.public_key]
    envelope = seal_follow_up(follow_up(), "north-legal", "uk", keys)
    assert set(inspect(envelope).kids) == {key.kid for key in keys}


@pytest.mark.parametrize(
    "changes",
    [
        {"extra": 1},
        {"kind": "reply"},
        {"v": 2},
        {"text": ""},
        {"text": "a\rb"},
        {"text": "я" * 4001},
        {"reply_key": _b64(bytes(1216))},
        {"reply_key": _b64(bytes(32))},
        {"mailbox_id": _b64(bytes(31))},
    ],
    ids=repr,
)
def test_follow_up_strict(changes: dict[str, Any]) -> None:
    doc = json.loads(follow_up().to_plaintext())
    doc.update(changes)
    with pytest.raises(MessageRefused) as caught:
        FollowUp.from_plaintext(json.dumps(doc).encode())
    assert caught.value.reason == "unreadable"


def test_follow_up_duplicate_member() -> None:
    data = follow_up().to_plaintext()
    with pytest.raises(MessageRefused):
        FollowUp.from_plaintext(data[:-1] + b',"kind":"follow_up"}')


def test_follow_up_labels_refuse_a_bad_partner_or_language() -> None:
    with pytest.raises(MessageFormatError) as caught:
        follow_up_labels("North Legal", "ru")
    assert caught.value.field == "partner"
    with pytest.raises(MessageFormatError) as caught:
        follow_up_labels("north-legal", "Русский")
    assert caught.value.field == "language"
