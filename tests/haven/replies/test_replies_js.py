"""web/src/replies.js passes the message vectors, its test fails on a wrong vector, and
messages cross between Python and JavaScript both ways: a partner's reply written by
Python reads in JS exactly, and a follow-up sealed in JS opens in Python for its
partner alone.

Like the other interop tests these never skip: a run without Node or without
web/node_modules fails and says what to install.
"""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from haven.envelope import OpenError, PrivateKey, open_envelope
from haven.replies import (
    FollowUp,
    PartnerMessage,
    SigningKey,
    WireMessage,
    access_hash,
    derive,
    follow_up_labels,
    generate,
    parse,
    write_message,
)
from tests.haven.replies.make_message_vectors import VECTORS
from tests.haven.replies.node import node, run_cli, run_js_tests

TEST_FILE = "web/test/replies.test.mjs"
CLI = "web/test/replies-cli.mjs"
REQUIRED_PACKAGES = ("@noble/curves", "@noble/hashes", "@hpke/hybridkem-x-wing", "hash-wasm")

pytestmark = pytest.mark.interop


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _node() -> str:
    return node(REQUIRED_PACKAGES, "replies")


def _cli(command: str, request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    return run_cli(_node(), CLI, [command], json.dumps(request))


def _run_js_tests(vectors: Path | None = None) -> subprocess.CompletedProcess[str]:
    return run_js_tests(_node(), TEST_FILE, "HAVEN_REPLIES_MESSAGE_VECTORS", vectors)


def test_js_passes_the_message_vectors() -> None:
    result = _run_js_tests()
    assert result.returncode == 0, result.stdout + result.stderr


def test_js_fails_each_kind_of_wrong_vector(tmp_path: Path) -> None:
    vectors = json.loads(VECTORS.read_text(encoding="utf-8"))
    by_name = {case["name"]: case for case in vectors["messages"]}
    by_name["reply"]["message"]["text"] += "!"  # a positive read differently
    by_name["wrong_key"]["reason"] = "unreadable"  # a refusal for the wrong reason
    by_name["unknown_member"]["reason"] = None  # a refusal that must not read
    vectors["partners"][0]["keys"][0]["signing_key"] = vectors["partners"][1]["keys"][0][
        "signing_key"
    ]
    follow_up = vectors["follow_ups"][0]
    follow_up["follow_up"]["text"] += "!"  # JS would write another plaintext
    wrong = tmp_path / "wrong-vectors.json"
    wrong.write_text(json.dumps(vectors, ensure_ascii=False), encoding="utf-8")
    result = _run_js_tests(wrong)
    assert result.returncode != 0
    assert "# fail 5" in result.stdout, result.stdout


def _partner(seed_byte: int) -> SigningKey:
    """A partner's signing key, from its X-Wing seed (a public test fixture)."""
    return SigningKey.from_partner_key(PrivateKey.from_seed(bytes([seed_byte]) * 32))


@pytest.mark.parametrize(
    ("kind", "state", "text"),
    [
        ("reply", None, "Здравствуйте.\nМы получили ваш запрос 😀 и ответим до пятницы."),
        ("status", "need_info", "Напишіть, будь ласка, де ви зараз."),
    ],
)
def test_a_reply_written_in_python_reads_in_js_exactly(
    kind: str, state: str | None, text: str
) -> None:
    keys = derive(generate("ru"))
    signer = _partner(0x41)
    message = PartnerMessage(
        kind=kind,
        partner="north-legal",
        mailbox_id=keys.mailbox_id,
        request="5e" * 32,
        state=state,
        text=text,
        sent_at="2026-11-30T09:00:00Z",
    )
    wire = write_message(message, keys.reply_key.public_key, signer).to_json()
    request = {
        "wire": wire,
        "mailbox_id": _b64(keys.mailbox_id),
        "reply_seed": keys.reply_key.seed.hex(),
        "signing_keys": [_b64(signer.public_bytes)],
    }
    status, output = _cli("read", request)
    assert status == 0, output
    assert output["message"] == {
        "kind": kind,
        "partner": "north-legal",
        "mailbox_id": _b64(keys.mailbox_id),
        "request": "5e" * 32,
        "state": state,
        "text": text,
        "sent_at": "2026-11-30T09:00:00Z",
    }
    # The same message, checked against another partner's signing key: refused.
    outsider = _partner(0x42)
    status, output = _cli("read", {**request, "signing_keys": [_b64(outsider.public_bytes)]})
    assert (status, output) == (1, {"reason": "not_signed"})
    assert WireMessage.from_json(wire).partner == "north-legal"


def test_a_follow_up_sealed_in_js_opens_in_python_for_its_partner_alone() -> None:
    keys = derive(generate("uk"))
    partner_keys = [PrivateKey.from_seed(bytes([b]) * 32) for b in (0x51, 0x52)]
    outsider = PrivateKey.from_seed(b"\x53" * 32)
    text = "Дякую. Увечері мені зручно.\nДруге речення."
    status, output = _cli(
        "follow-up",
        {
            "mailbox_id": _b64(keys.mailbox_id),
            "reply_key": _b64(keys.reply_key.public_key.to_bytes()),
            "text": text,
            "partner": "south-aid",
            "language": "uk",
            "partner_keys": [_b64(key.public_key.to_bytes()) for key in partner_keys],
        },
    )
    assert status == 0
    envelope = base64.b64decode(output["envelope"])
    for key in partner_keys:
        opened = open_envelope(envelope, [key])
        assert opened.labels == follow_up_labels("south-aid", "uk")
        assert not opened.server_sealed
        follow_up = FollowUp.from_plaintext(opened.content)
        assert follow_up == FollowUp(keys.mailbox_id, keys.reply_key.public_key.to_bytes(), text)
    with pytest.raises(OpenError):
        open_envelope(envelope, [outsider])


def test_a_receipt_made_in_js_derives_in_python_to_the_same_public_values() -> None:
    for language in ("ru", "uk", "en"):
        status, output = _cli("receipt", {"language": language})
        assert status == 0
        code = parse(output["code"])
        keys = derive(code)
        assert code.language == output["language"] == language
        assert output["mailbox_id"] == _b64(keys.mailbox_id)
        assert output["access_hash"] == _b64(access_hash(keys.access_secret))
        assert output["reply_public_key"] == _b64(keys.reply_key.public_key.to_bytes())
