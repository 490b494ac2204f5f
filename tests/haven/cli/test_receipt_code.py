"""The receipt code on the command line: made when a request asks for a reply through Haven, read back.

Run through the real `haven` command. What is checked is what a requester
relies on: the keys inside the sealed request are the code's, the code is
shown once and kept only where they asked, and a mistyped code is reported
by reason and position without ever repeating a word of it.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from haven.cli.keyfiles import public_key_json
from haven.envelope import PrivateKey, open_envelope
from haven.replies import access_hash, derive, format_code, generate, parse, word_list
from tests.haven.cli.conftest import EXAMPLES, Haven, Result, assert_one_line_error


@pytest.fixture(scope="module")
def partner_key() -> PrivateKey:
    return PrivateKey.generate()


@pytest.fixture
def partner_pub(tmp_path: Path, partner_key: PrivateKey) -> Path:
    path = tmp_path / "partner.pub"
    path.write_bytes(public_key_json(partner_key.public_key))
    return path


def reply_request(tmp_path: Path, **changes: Any) -> Path:
    """The example desertion request, answered through Haven instead of a messenger."""
    document = json.loads((EXAMPLES / "desertion.json").read_text(encoding="utf-8"))
    del document["fields"]["contact_handle"]
    document["fields"]["contact_channel"] = "haven_reply"
    document.update(changes)
    path = tmp_path / "reply-request.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def seal(haven: Haven, content: Path, pub: Path, *extra: str, language: str = "ru") -> Result:
    return haven(
        "seal", content, "--out", "req.env", "--region", "ru-central", "--language", language,
        "--urgency", "normal", "--to", pub, *extra,
    )  # fmt: skip


def opened_content(tmp_path: Path, key: PrivateKey) -> dict[str, Any]:
    content = open_envelope((tmp_path / "req.env").read_bytes(), [key]).content
    document: dict[str, Any] = json.loads(content)
    return document


def printed_code(result: Result) -> str:
    lines = [line for line in result.out.splitlines() if line.startswith("receipt code: ")]
    assert len(lines) == 1, result.out
    return lines[0].removeprefix("receipt code: ")


def test_a_reply_through_haven_carries_the_keys_of_the_code_shown_once(
    haven: Haven, tmp_path: Path, partner_pub: Path, partner_key: PrivateKey
) -> None:
    result = seal(haven, reply_request(tmp_path), partner_pub)
    assert result.code == 0, result.err
    text = printed_code(result)
    assert result.out.count(text) == 1  # shown once
    assert "Keep it" in result.out
    code = parse(text)
    assert code.language == "ru"  # the words of the request's language
    assert all(word in word_list("ru") for word in text.split())

    keys = derive(code)
    document = opened_content(tmp_path, partner_key)
    assert base64.b64decode(document["reply_key"]) == keys.reply_key.public_key.to_bytes()
    assert base64.b64decode(document["mailbox_id"]) == keys.mailbox_id
    assert base64.b64decode(document["access_hash"]) == access_hash(keys.access_secret)
    # The access secret itself never leaves the requester's machine.
    assert base64.b64encode(keys.access_secret).decode() not in json.dumps(document)


@pytest.mark.parametrize("language", ["uk", "en"])
def test_the_code_is_in_the_language_of_the_request(
    haven: Haven, tmp_path: Path, partner_pub: Path, language: str
) -> None:
    result = seal(haven, reply_request(tmp_path), partner_pub, language=language)
    assert result.code == 0, result.err
    assert parse(printed_code(result)).language == language


def test_each_request_gets_a_code_of_its_own(
    haven: Haven, tmp_path: Path, partner_pub: Path
) -> None:
    content = reply_request(tmp_path)
    first = seal(haven, content, partner_pub)
    second = seal(haven, content, partner_pub, "--force")
    assert first.code == second.code == 0, first.err + second.err
    assert printed_code(first) != printed_code(second)


def test_a_code_file_is_the_requesters_alone_and_never_replaced(
    haven: Haven, tmp_path: Path, partner_pub: Path, partner_key: PrivateKey
) -> None:
    content = reply_request(tmp_path)
    result = seal(haven, content, partner_pub, "--code-file", "code.txt")
    assert result.code == 0, result.err
    code_file = tmp_path / "code.txt"
    assert code_file.stat().st_mode & 0o777 == 0o600
    code = parse(code_file.read_text(encoding="utf-8"))
    # In the file, not also on the screen.
    assert format_code(code) not in result.out
    assert "receipt code: " not in result.out and "code.txt" in result.out
    document = opened_content(tmp_path, partner_key)
    assert base64.b64decode(document["mailbox_id"]) == derive(code).mailbox_id

    before = code_file.read_bytes()
    again = haven(
        "seal", content, "--out", "other.env", "--region", "ru-central", "--language", "ru",
        "--urgency", "normal", "--to", partner_pub, "--code-file", "code.txt",
    )  # fmt: skip
    assert_one_line_error(again, "code.txt exists")
    assert code_file.read_bytes() == before
    assert not (tmp_path / "other.env").exists()  # nothing sealed whose code has nowhere to go


def test_no_code_for_a_request_answered_another_way(
    haven: Haven, tmp_path: Path, partner_pub: Path, partner_key: PrivateKey
) -> None:
    result = seal(haven, EXAMPLES / "desertion.json", partner_pub, "--code-file", "code.txt")
    assert result.code == 0, result.err
    assert "receipt code" not in result.out
    assert not (tmp_path / "code.txt").exists()
    assert "mailbox_id" not in opened_content(tmp_path, partner_key)


def test_a_failed_seal_leaves_no_code_file(haven: Haven, tmp_path: Path, partner_pub: Path) -> None:
    result = seal(
        haven, reply_request(tmp_path), partner_pub, "--code-file", "code.txt", language="xx"
    )
    assert_one_line_error(result, "--language")
    assert not (tmp_path / "code.txt").exists()


def _typed_wrong(tmp_path: Path, how: str) -> tuple[Path, list[str]]:
    # A fixed test code (never a real one) whose second and third words differ.
    words = format_code(generate("ru", lambda n: bytes(range(7, 7 + n)))).split()
    assert words[1] != words[2]
    if how == "unknown_word":
        typed = [*words[:2], "абвгд", *words[3:]]
    elif how == "swapped":
        typed = [words[0], words[2], words[1], *words[3:]]
    else:
        typed = words[:8]
    path = tmp_path / "typed-code.txt"
    path.write_text(" ".join(typed) + "\n", encoding="utf-8")
    return path, words


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("unknown_word", "word 3 of the receipt code is not in its word list"),
        ("swapped", "the receipt code's check failed"),
        ("short", "a receipt code has 9 words; this has 8"),
    ],
)
@pytest.mark.parametrize("command", ["status", "follow-up", "delete"])
def test_a_mistyped_code_is_named_by_reason_and_position_never_by_its_words(
    haven: Haven, tmp_path: Path, how: str, message: str, command: str
) -> None:
    code_file, words = _typed_wrong(tmp_path, how)
    (tmp_path / "text.txt").write_text("Спасибо\n", encoding="utf-8")
    args: dict[str, tuple[str, ...]] = {
        "status": ("status",),
        "follow-up": ("follow-up", "--text-file", "text.txt"),
        "delete": ("status", "--delete"),
    }
    # No intake listens there: the code is refused before anything is sent.
    result = haven(
        *args[command], "--code-file", code_file, "--url", "http://127.0.0.1:9",
        "--network-key", "network.pub",
    )  # fmt: skip
    assert_one_line_error(result, message)
    for word in words:
        assert word not in result.err and word not in result.out


def test_status_needs_a_pinned_network_key(haven: Haven, tmp_path: Path) -> None:
    code_file = tmp_path / "code.txt"
    code_file.write_text(format_code(generate("ru")) + "\n", encoding="utf-8")
    result = haven("status", "--code-file", code_file, "--url", "http://127.0.0.1:9")
    assert_one_line_error(result, "--network-key", "HAVEN_NETWORK_VERIFY_KEY_FILE")


NOWHERE = "http://127.0.0.1:9"  # nothing listens there


def submit_content(haven: Haven, content: Path, *extra: str | Path) -> Result:
    return haven(
        "submit", content, "--url", NOWHERE, "--network-key", "network.pub",
        "--region", "ru-central", "--language", "ru", *extra,
    )  # fmt: skip


def test_submit_leaves_no_code_file_for_a_request_that_was_not_sent(
    haven: Haven, tmp_path: Path
) -> None:
    (tmp_path / "network.pub").write_text("not needed before the intake answers\n")
    result = submit_content(haven, reply_request(tmp_path), "--code-file", "code.txt")
    assert_one_line_error(result)
    assert "receipt code" not in result.out
    assert not (tmp_path / "code.txt").exists()


def test_submit_never_replaces_a_code_file_and_sends_nothing(haven: Haven, tmp_path: Path) -> None:
    code_file = tmp_path / "code.txt"
    code_file.write_text("the code of an earlier request\n")
    result = submit_content(haven, reply_request(tmp_path), "--code-file", code_file)
    # Refused before the intake is contacted (nothing listens at NOWHERE).
    assert_one_line_error(result, "code.txt exists")
    assert code_file.read_text() == "the code of an earlier request\n"


def test_submit_of_a_content_document_needs_the_pinned_key_and_labels(
    haven: Haven, tmp_path: Path
) -> None:
    result = haven("submit", reply_request(tmp_path), "--url", NOWHERE, "--region", "ru-central")
    assert_one_line_error(result, "needs --network-key, --language")


def test_an_envelope_is_sent_as_it_is_and_gets_no_code(
    haven: Haven, tmp_path: Path, partner_pub: Path
) -> None:
    assert seal(haven, reply_request(tmp_path), partner_pub).code == 0
    result = haven("submit", "req.env", "--url", NOWHERE, "--code-file", "code.txt")
    assert_one_line_error(result, "--code-file", "haven seal")
    assert not (tmp_path / "code.txt").exists()
