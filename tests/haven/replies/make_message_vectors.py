"""Write tests/haven/replies/vectors/replies-v1-messages.json (partner messages, follow-ups).

Run from the repository root:
`.venv/bin/python -m tests.haven.replies.make_message_vectors`.

Sealing is randomised (the file key and X-Wing's encapsulation), so the
generator is deterministic the way the envelope's is: it keeps every sealed
message of the committed file that still opens, for the keys its case names,
to the case's plaintext and labels, and seals afresh only a case that is new
or changed. Signatures (Ed25519 is deterministic), keys and every other field
follow from the fixed seeds and the sealed bytes. Run on the committed file
it rewrites the same bytes (test_message_vectors.py checks that). The layout
is documented in docs/replies-v1.md section 7. The seeds are test fixtures,
published on purpose: never use them for a real partner or requester.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from haven.envelope import Labels, OpenError, PrivateKey, inspect, open_envelope, seal
from haven.replies import (
    REPLY_LABELS,
    FollowUp,
    PartnerMessage,
    SigningKey,
    access_hash,
    follow_up_labels,
    seal_follow_up,
)
from haven.replies.message import (
    ACCESS_HASH_CONTEXT,
    SIGNED_CONTEXT,
    SIGNING_KEY_INFO,
    _signing_seed,
    signed_bytes,
)

VECTORS = Path(__file__).parent / "vectors" / "replies-v1-messages.json"

# Test fixtures only.
REPLY_SEED = bytes([0x51]) * 32
OUTSIDER_SEED = bytes([0x52]) * 32
MAILBOX = bytes([0x61]) * 32
OTHER_MAILBOX = bytes([0x62]) * 32
ACCESS_SECRET = bytes([0x71]) * 32
PARTNER_SEEDS = {
    "north-legal": (bytes([0x31]) * 32, bytes([0x32]) * 32),
    "south-aid": (bytes([0x41]) * 32,),
}
REQUEST = "5e" * 32
SENT_AT = "2026-11-30T08:00:00Z"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _signer(partner: str, index: int = 0) -> SigningKey:
    return SigningKey.from_partner_key(PrivateKey.from_seed(PARTNER_SEEDS[partner][index]))


def _signing_keys(partner: str) -> list[bytes]:
    return [_signer(partner, i).public_bytes for i in range(len(PARTNER_SEEDS[partner]))]


def _json(document: dict[str, Any], **options: Any) -> bytes:
    settings: dict[str, Any] = {"ensure_ascii": False, "separators": (",", ":")}
    settings.update(options)
    return json.dumps(document, **settings).encode("utf-8")


def _doc(message: PartnerMessage) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(message.to_plaintext())
    return document


REPLY = PartnerMessage(
    kind="reply",
    partner="north-legal",
    mailbox_id=MAILBOX,
    request=REQUEST,
    state=None,
    text="Здравствуйте. Мы получили ваш запрос.\nНапишите, в какой вы стране сейчас.",
    sent_at=SENT_AT,
)


@dataclass(frozen=True)
class Case:
    """One message: what is sealed, to whom, who signs for what, and what a reader holds."""

    name: str
    plaintext: bytes
    reason: str | None = None
    labels: Labels = REPLY_LABELS
    server_sealed: bool = False
    sealed_to: tuple[bytes, ...] = (REPLY_SEED,)
    signer: tuple[str, int] = ("north-legal", 0)
    signed_partner: str = "north-legal"
    signed_mailbox: bytes = MAILBOX
    wire_partner: str = "north-legal"
    reader_keys_of: str | None = "north-legal"
    # Applied to the signed wire: a bit flipped in the sealed bytes or the signature.
    tamper: str | None = None
    message: PartnerMessage | None = field(default=None)


def _cases() -> list[Case]:
    status = replace(REPLY, kind="status", state="received", text="")
    reply_doc = _doc(REPLY)

    def bad(name: str, **changes: Any) -> Case:
        document = dict(reply_doc)
        document.update(changes)
        return Case(name, _json(document), "unreadable")

    duplicate = REPLY.to_plaintext()[:-1] + b',"text":"second"}'
    missing = dict(reply_doc)
    del missing["sent_at"]
    lone_surrogate = REPLY.to_plaintext().replace("Здравствуйте".encode(), b"\\ud800")
    longest = replace(REPLY, text="😀" * 4000)
    need_info = replace(
        status,
        state="need_info",
        text="Чи є у вас закордонний паспорт? Відповідайте через «Відповісти».",
    )
    south = replace(REPLY, partner="south-aid", kind="status", state="in_progress", text="")
    return [
        # Positive: each opens to `message`.
        Case("reply", REPLY.to_plaintext(), message=REPLY),
        Case("status_received", status.to_plaintext(), message=status),
        Case("status_need_info_with_note", need_info.to_plaintext(), message=need_info),
        Case(
            "status_closed",
            replace(status, state="closed").to_plaintext(),
            message=replace(status, state="closed"),
        ),
        Case("reply_4000_emoji_second_bucket", longest.to_plaintext(), message=longest),
        Case(
            "signed_by_second_key",
            REPLY.to_plaintext(),
            signer=("north-legal", 1),
            message=REPLY,
        ),
        Case(
            "escaped_json_with_spaces",
            _json(reply_doc, ensure_ascii=True, separators=(", ", ": ")),
            message=REPLY,
        ),
        Case(
            "another_partner",
            south.to_plaintext(),
            signer=("south-aid", 0),
            signed_partner="south-aid",
            wire_partner="south-aid",
            reader_keys_of="south-aid",
            message=south,
        ),
        # not_signed
        Case("wrong_key", REPLY.to_plaintext(), "not_signed", signer=("south-aid", 0)),
        Case(
            "another_mailbox",
            replace(REPLY, mailbox_id=OTHER_MAILBOX).to_plaintext(),
            "not_signed",
            signed_mailbox=OTHER_MAILBOX,
        ),
        Case(
            "another_partner_id",
            REPLY.to_plaintext(),
            "not_signed",
            wire_partner="south-aid",
            reader_keys_of="south-aid",
        ),
        Case("no_signing_key", REPLY.to_plaintext(), "not_signed", reader_keys_of=None),
        Case("flipped_sealed_bit", REPLY.to_plaintext(), "not_signed", tamper="sealed"),
        Case("flipped_signature_bit", REPLY.to_plaintext(), "not_signed", tamper="signature"),
        # unreadable
        Case(
            "sealed_to_another_key", REPLY.to_plaintext(), "unreadable", sealed_to=(OUTSIDER_SEED,)
        ),
        Case(
            "wrong_labels",
            REPLY.to_plaintext(),
            "unreadable",
            labels=Labels("reply", "none", "none", "normal"),
        ),
        Case("server_sealed", REPLY.to_plaintext(), "unreadable", server_sealed=True),
        Case(
            "two_recipients",
            REPLY.to_plaintext(),
            "unreadable",
            sealed_to=(REPLY_SEED, OUTSIDER_SEED),
        ),
        bad("partner_mismatch", partner="south-aid"),
        bad("mailbox_mismatch", mailbox_id=b64(OTHER_MAILBOX)),
        bad("unknown_member", note="x"),
        Case("duplicate_member", duplicate, "unreadable"),
        Case("missing_member", _json(missing), "unreadable"),
        bad("version_true", v=True),
        bad("version_2", v=2),
        bad("unknown_kind", kind="note"),
        bad("reply_with_state", state="received"),
        bad("status_without_state", kind="status", state=None),
        bad("unknown_state", kind="status", state="lost"),
        bad("empty_reply", text=""),
        bad("reply_too_long", text="я" * 4001),
        bad("status_note_too_long", kind="status", state="closed", text="я" * 501),
        bad("carriage_return", text="строка\r\nстрока"),
        bad("c1_control", text="текст\u0085текст"),
        Case("lone_surrogate", lone_surrogate, "unreadable"),
        bad("request_upper_case", request=REQUEST.upper()),
        bad("mailbox_id_unpadded", mailbox_id=b64(MAILBOX).rstrip("=")),
        bad("sent_at_not_a_date", sent_at="2026-02-30T08:00:00Z"),
        bad("sent_at_with_offset", sent_at="2026-11-30T08:00:00+00:00"),
        Case("not_json", b"\xef\xbb\xbf" + REPLY.to_plaintext(), "unreadable"),
    ]


def _opens_as(sealed: bytes, case: Case) -> bool:
    keys = [PrivateKey.from_seed(seed) for seed in case.sealed_to]
    if sorted(inspect(sealed).kids) != sorted(key.kid for key in keys):
        return False
    for key in keys:
        try:
            opened = open_envelope(sealed, [key])
        except OpenError:
            return False
        if (opened.labels, opened.server_sealed, opened.content) != (
            case.labels,
            case.server_sealed,
            case.plaintext,
        ):
            return False
    return True


def _sealed(case: Case, kept: dict[str, Any] | None) -> bytes:
    if kept is not None:
        sealed = base64.b64decode(kept.get("untampered_sealed", kept["wire"]["sealed"]))
        if _opens_as(sealed, case):
            return sealed
    recipients = [PrivateKey.from_seed(seed).public_key for seed in case.sealed_to]
    return seal(case.plaintext, case.labels, recipients, server_sealed=case.server_sealed)


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def _message_case(case: Case, kept: dict[str, Any] | None) -> dict[str, Any]:
    sealed = _sealed(case, kept)
    signer = _signer(*case.signer)
    signature = signer.sign(signed_bytes(case.signed_mailbox, case.signed_partner, sealed))
    wire_sealed = sealed
    if case.tamper == "sealed":
        wire_sealed = _flip(sealed, len(sealed) - 1)
    elif case.tamper == "signature":
        signature = _flip(signature, 0)
    entry: dict[str, Any] = {
        "name": case.name,
        "reason": case.reason,
        "mailbox_id": b64(MAILBOX),
        "signing_keys": [b64(k) for k in _signing_keys(case.reader_keys_of)]
        if case.reader_keys_of
        else [],
        "wire": {
            "partner": case.wire_partner,
            "sealed": b64(wire_sealed),
            "signature": b64(signature),
        },
        "plaintext": b64(case.plaintext),
    }
    if wire_sealed != sealed:
        # What was signed, before the bit was flipped: what the generator keeps.
        entry["untampered_sealed"] = b64(sealed)
    if case.message is not None:
        entry["message"] = _doc(case.message)
        entry["plaintext_is_canonical"] = case.plaintext == case.message.to_plaintext()
    return entry


MALFORMED_WIRE = [
    ("not_an_object", ["north-legal"], "message"),
    ("unknown_member", {"partner": "north-legal", "sealed": "AAAA", "signature": b64(bytes(64)), "id": "x"}, "message"),
    ("missing_signature", {"partner": "north-legal", "sealed": "AAAA"}, "signature"),
    ("partner_upper_case", {"partner": "North-Legal", "sealed": "AAAA", "signature": b64(bytes(64))}, "partner"),
    ("partner_not_a_string", {"partner": 7, "sealed": "AAAA", "signature": b64(bytes(64))}, "partner"),
    ("sealed_url_safe_base64", {"partner": "north-legal", "sealed": "-_-_", "signature": b64(bytes(64))}, "sealed"),
    ("sealed_empty", {"partner": "north-legal", "sealed": "", "signature": b64(bytes(64))}, "sealed"),
    ("signature_63_bytes", {"partner": "north-legal", "sealed": "AAAA", "signature": b64(bytes(63))}, "signature"),
    ("signature_unpadded", {"partner": "north-legal", "sealed": "AAAA", "signature": b64(bytes(64)).rstrip("=")}, "signature"),
]  # fmt: skip


FOLLOW_UP = FollowUp(
    mailbox_id=MAILBOX,
    reply_key=PrivateKey.from_seed(REPLY_SEED).public_key.to_bytes(),
    text="Я сейчас в Ереване. Паспорт есть, военный билет остался дома.",
)


def _follow_up_doc(**changes: Any) -> bytes:
    document: dict[str, Any] = json.loads(FOLLOW_UP.to_plaintext())
    document.update(changes)
    return _json(document)


FOLLOW_UP_NEGATIVE = [
    ("unknown_member", _follow_up_doc(partner="north-legal")),
    ("wrong_kind", _follow_up_doc(kind="reply")),
    ("empty_text", _follow_up_doc(text="")),
    ("text_too_long", _follow_up_doc(text="я" * 4001)),
    ("reply_key_not_a_key", _follow_up_doc(reply_key=b64(bytes(1216)))),
    ("reply_key_32_bytes", _follow_up_doc(reply_key=b64(bytes(32)))),
    ("duplicate_member", FOLLOW_UP.to_plaintext()[:-1] + b',"text":"second"}'),
]


def _follow_up_case(
    name: str, partner: str, language: str, kept: dict[str, Any] | None
) -> dict[str, Any]:
    seeds = PARTNER_SEEDS[partner]
    labels = follow_up_labels(partner, language)
    plaintext = FOLLOW_UP.to_plaintext()
    envelope = base64.b64decode(kept["envelope"]) if kept else b""
    case = Case(name, plaintext, labels=labels, sealed_to=seeds)
    if not (kept and _opens_as(envelope, case)):
        keys = [PrivateKey.from_seed(seed).public_key for seed in seeds]
        envelope = seal_follow_up(FOLLOW_UP, partner, language, keys)
    return {
        "name": name,
        "partner": partner,
        "language": language,
        "labels": labels.__dict__,
        "partner_seeds": [seed.hex() for seed in seeds],
        "envelope": b64(envelope),
        "plaintext": b64(plaintext),
        "follow_up": json.loads(plaintext),
    }


def _partner_entry(partner: str) -> dict[str, Any]:
    keys = []
    for seed in PARTNER_SEEDS[partner]:
        private = PrivateKey.from_seed(seed)
        keys.append(
            {
                "seed": seed.hex(),
                "public_key": b64(private.public_key.to_bytes()),
                "kid": private.kid.hex(),
                "signing_seed": _signing_seed(private).hex(),
                "signing_key": b64(SigningKey.from_partner_key(private).public_bytes),
            }
        )
    return {"id": partner, "keys": keys}


def build(previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """The vectors file; sealed bytes of `previous` (the committed file) are kept where they still hold."""
    kept = {c["name"]: c for c in previous["messages"]} if previous else {}
    kept_follow_ups = {c["name"]: c for c in previous["follow_ups"]} if previous else {}
    reply_key = PrivateKey.from_seed(REPLY_SEED)
    return {
        "version": 1,
        "spec": "docs/replies-v1.md",
        "note": "Seeds, secrets and mailbox ids are public test fixtures, never real keys or codes.",
        "contexts": {
            "access_hash": ACCESS_HASH_CONTEXT.hex(),
            "signing_key_info": SIGNING_KEY_INFO.decode("ascii"),
            "signed": SIGNED_CONTEXT.hex(),
        },
        "reply_labels": REPLY_LABELS.__dict__,
        "requester": {
            "reply_seed": REPLY_SEED.hex(),
            "reply_public_key": b64(reply_key.public_key.to_bytes()),
            "mailbox_id": b64(MAILBOX),
            "access_secret": ACCESS_SECRET.hex(),
            "access_hash": b64(access_hash(ACCESS_SECRET)),
        },
        "outsider_seed": OUTSIDER_SEED.hex(),
        "partners": [_partner_entry(partner) for partner in PARTNER_SEEDS],
        "messages": [_message_case(case, kept.get(case.name)) for case in _cases()],
        "malformed_wire": [
            {"name": name, "wire": wire, "field": field_name}
            for name, wire, field_name in MALFORMED_WIRE
        ],
        "follow_ups": [
            _follow_up_case(
                "follow_up_ru", "north-legal", "ru", kept_follow_ups.get("follow_up_ru")
            ),
            _follow_up_case(
                "follow_up_uk_one_key",
                "south-aid",
                "uk",
                kept_follow_ups.get("follow_up_uk_one_key"),
            ),
        ],
        "follow_up_negative": [
            {"name": name, "plaintext": b64(data)} for name, data in FOLLOW_UP_NEGATIVE
        ],
    }


def render(vectors: dict[str, Any]) -> str:
    return json.dumps(vectors, indent=1, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    committed = json.loads(VECTORS.read_text(encoding="utf-8")) if VECTORS.exists() else None
    VECTORS.write_text(render(build(committed)), encoding="utf-8")
