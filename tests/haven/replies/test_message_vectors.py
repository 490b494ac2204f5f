"""The committed message vectors hold, as docs/replies-v1.md sections 2, 3, 5 and 7 define them."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from haven.envelope import Labels, PrivateKey, open_envelope
from haven.replies import (
    FollowUp,
    MessageFormatError,
    MessageRefused,
    PartnerMessage,
    WireMessage,
    access_hash,
    check_sealed_form,
    check_signature,
    read_message,
)
from tests.haven.replies.make_message_vectors import VECTORS, build, render
from tests.repo import REPO

# Section 3.5's named cases (docs/replies-v1.md section 7) and the rest of
# the strict plaintext rules, each with the refusal it must give.
NEGATIVE = {
    "wrong_key": "not_signed",
    "another_mailbox": "not_signed",
    "another_partner_id": "not_signed",
    "no_signing_key": "not_signed",
    "flipped_sealed_bit": "not_signed",
    "flipped_signature_bit": "not_signed",
    "sealed_to_another_key": "unreadable",
    "wrong_labels": "unreadable",
    "server_sealed": "unreadable",
    "two_recipients": "unreadable",
    "partner_mismatch": "unreadable",
    "mailbox_mismatch": "unreadable",
    "unknown_member": "unreadable",
    "duplicate_member": "unreadable",
    "missing_member": "unreadable",
    "version_true": "unreadable",
    "version_2": "unreadable",
    "unknown_kind": "unreadable",
    "reply_with_state": "unreadable",
    "status_without_state": "unreadable",
    "unknown_state": "unreadable",
    "empty_reply": "unreadable",
    "reply_too_long": "unreadable",
    "status_note_too_long": "unreadable",
    "carriage_return": "unreadable",
    "c1_control": "unreadable",
    "lone_surrogate": "unreadable",
    "request_upper_case": "unreadable",
    "mailbox_id_unpadded": "unreadable",
    "sent_at_not_a_date": "unreadable",
    "sent_at_with_offset": "unreadable",
    "not_json": "unreadable",
}


@pytest.fixture(scope="module")
def vectors() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(VECTORS.read_text(encoding="utf-8"))
    return data


def _b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def _reply_key(vectors: dict[str, Any]) -> PrivateKey:
    return PrivateKey.from_seed(bytes.fromhex(vectors["requester"]["reply_seed"]))


def _read(vectors: dict[str, Any], case: dict[str, Any]) -> PartnerMessage:
    wire = WireMessage.from_json(case["wire"])
    keys = [_b64(key) for key in case["signing_keys"]]
    return read_message(wire, _b64(case["mailbox_id"]), _reply_key(vectors), keys)


def test_generator_rewrites_the_committed_file(vectors: dict[str, Any]) -> None:
    # Every field follows from the seeds and the committed sealed bytes; no
    # committed message was resealed, so a reader checked against them stays checked.
    assert render(build(vectors)) == VECTORS.read_text(encoding="utf-8")
    assert VECTORS.stat().st_size < 1_000_000


def test_every_named_negative_case_is_present(vectors: dict[str, Any]) -> None:
    negative = {case["name"]: case["reason"] for case in vectors["messages"] if case["reason"]}
    assert negative == NEGATIVE


def test_keys_recompute_as_the_spec_says(vectors: dict[str, Any]) -> None:
    info = vectors["contexts"]["signing_key_info"].encode("ascii")
    assert info == b"haven/replies/v1 partner signing key"
    for partner in vectors["partners"]:
        for key in partner["keys"]:
            private = PrivateKey.from_seed(bytes.fromhex(key["seed"]))
            assert _b64(key["public_key"]) == private.public_key.to_bytes()
            assert key["kid"] == hashlib.sha256(private.public_key.to_bytes()).hexdigest()
            seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(
                private.seed
            )
            assert key["signing_seed"] == seed.hex()
            public = ed25519.Ed25519PrivateKey.from_private_bytes(seed).public_key()
            assert _b64(key["signing_key"]) == public.public_bytes_raw()
    requester = vectors["requester"]
    secret = bytes.fromhex(requester["access_secret"])
    expected = hashlib.sha256(b"haven/replies/v1 access hash\x00" + secret).digest()
    assert _b64(requester["access_hash"]) == expected == access_hash(secret)
    assert _b64(requester["reply_public_key"]) == _reply_key(vectors).public_key.to_bytes()
    assert vectors["reply_labels"] == {
        "category": "reply",
        "region": "none",
        "language": "none",
        "urgency": "none",
    }


def test_positive_messages_open_to_their_plaintext(vectors: dict[str, Any]) -> None:
    positive = [case for case in vectors["messages"] if case["reason"] is None]
    assert len(positive) >= 8
    for case in positive:
        message = _read(vectors, case)
        document = case["message"]
        assert message.to_plaintext() == json.dumps(
            document, ensure_ascii=False, separators=(",", ":")
        ).encode("utf-8"), case["name"]
        plaintext = _b64(case["plaintext"])
        assert PartnerMessage.from_plaintext(plaintext) == message
        assert (message.to_plaintext() == plaintext) is case["plaintext_is_canonical"]
        # The signature is over the section 3.3 bytes, checked here by hand too.
        wire = case["wire"]
        signed = (
            bytes.fromhex(vectors["contexts"]["signed"])
            + _b64(case["mailbox_id"])
            + wire["partner"].encode("ascii")
            + b"\x00"
            + _b64(wire["sealed"])
        )
        verified = 0
        for key in case["signing_keys"]:
            try:
                ed25519.Ed25519PublicKey.from_public_bytes(_b64(key)).verify(
                    _b64(wire["signature"]), signed
                )
                verified += 1
            except Exception:  # noqa: BLE001, S112 - the other key of the partner
                continue
        assert verified == 1, case["name"]
        check_sealed_form(_b64(wire["sealed"]))


@pytest.mark.parametrize("name", sorted(NEGATIVE))
def test_negative_message_is_refused_with_its_reason(vectors: dict[str, Any], name: str) -> None:
    (case,) = [c for c in vectors["messages"] if c["name"] == name]
    with pytest.raises(MessageRefused) as refused:
        _read(vectors, case)
    assert refused.value.reason == case["reason"] == NEGATIVE[name]
    # Opaque: the refusal says which of the two, and nothing of why.
    assert str(refused.value) == MessageRefused.MESSAGES[case["reason"]]


def test_unreadable_cases_carry_a_valid_signature(vectors: dict[str, Any]) -> None:
    # So each one tests the step it names, not the signature in front of it.
    for case in vectors["messages"]:
        if case["reason"] == "unreadable":
            wire = WireMessage.from_json(case["wire"])
            keys = [_b64(key) for key in case["signing_keys"]]
            check_signature(wire, _b64(case["mailbox_id"]), keys)


def test_malformed_wire_names_its_field(vectors: dict[str, Any]) -> None:
    assert vectors["malformed_wire"]
    for case in vectors["malformed_wire"]:
        with pytest.raises(MessageFormatError) as caught:
            WireMessage.from_json(case["wire"])
        assert caught.value.field == case["field"], case["name"]


def test_follow_ups_open_for_their_partner(vectors: dict[str, Any]) -> None:
    for case in vectors["follow_ups"]:
        envelope = _b64(case["envelope"])
        for seed in case["partner_seeds"]:
            opened = open_envelope(envelope, [PrivateKey.from_seed(bytes.fromhex(seed))])
            assert opened.labels == Labels(**case["labels"])
            assert opened.labels == Labels("follow_up", case["partner"], case["language"], "normal")
            assert opened.content == _b64(case["plaintext"])
            follow_up = FollowUp.from_plaintext(opened.content)
            assert follow_up.to_plaintext() == opened.content
            assert case["follow_up"]["text"] == follow_up.text


def test_follow_up_negatives_are_unreadable(vectors: dict[str, Any]) -> None:
    assert len(vectors["follow_up_negative"]) >= 5
    for case in vectors["follow_up_negative"]:
        with pytest.raises(MessageRefused) as refused:
            FollowUp.from_plaintext(_b64(case["plaintext"]))
        assert refused.value.reason == "unreadable", case["name"]


def test_spec_lists_every_negative_case() -> None:
    spec = (REPO / "docs" / "replies-v1.md").read_text(encoding="utf-8")
    listed = dict(
        re.findall(r"^\| `([a-z_0-9]+)` \| .+ \| `(not_signed|unreadable)` \|$", spec, re.M)
    )
    assert listed == NEGATIVE
