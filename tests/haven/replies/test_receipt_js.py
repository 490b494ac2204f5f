"""web/src/receipt.js passes the receipt-code vectors, its test fails on a wrong vector, and
codes made on either side read and derive the same on the other.

Like the envelope's interop tests these never skip: a run without Node or
without web/node_modules fails and says what to install.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from haven.replies import LANGUAGES, CodeError, derive, format_code, generate, parse
from tests.haven.replies.make_vectors import VECTORS
from tests.haven.replies.node import node, run_cli, run_js_tests

TEST_FILE = "web/test/receipt.test.mjs"
CLI = "web/test/receipt-cli.mjs"
REQUIRED_PACKAGES = ("hash-wasm", "@noble/hashes", "@hpke/hybridkem-x-wing")


def _node() -> str:
    return node(REQUIRED_PACKAGES, "receipt-code")


def _cli(*args: str, stdin: str = "") -> tuple[int, dict[str, Any]]:
    return run_cli(_node(), CLI, list(args), stdin)


def _run_js_tests(vectors: Path | None = None) -> subprocess.CompletedProcess[str]:
    return run_js_tests(_node(), TEST_FILE, "HAVEN_REPLIES_VECTORS", vectors)


@pytest.mark.interop
def test_js_passes_the_vectors() -> None:
    result = _run_js_tests()
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.interop
def test_js_fails_each_kind_of_wrong_vector(tmp_path: Path) -> None:
    vectors = json.loads(VECTORS.read_text(encoding="utf-8"))
    vectors["positive"][0]["argon2id_tag"] = "00" * 32
    vectors["positive"][1]["reply_kid"] = "00" * 32
    vectors["parse"][0]["entropy"] = "00" * 11
    vectors["negative"][4]["position"] = 2
    negative = {case["name"]: case for case in vectors["negative"]}
    negative["substituted_word"]["reason"] = "unknown_word"
    wrong = tmp_path / "wrong-vectors.json"
    wrong.write_text(json.dumps(vectors, ensure_ascii=False), encoding="utf-8")
    result = _run_js_tests(wrong)
    assert result.returncode != 0
    assert "# fail 5" in result.stdout, result.stdout


@pytest.mark.interop
@pytest.mark.parametrize("language", LANGUAGES)
def test_code_made_in_python_derives_the_same_keys_in_js(language: str) -> None:
    code = generate(language)
    keys = derive(code)
    status, output = _cli("derive", stdin=format_code(code))
    assert status == 0
    assert output == {
        "entropy": code.entropy.hex(),
        "language": language,
        "mailbox_id": keys.mailbox_id.hex(),
        "access_secret": keys.access_secret.hex(),
        "reply_seed": keys.reply_key.seed.hex(),
        "reply_kid": keys.reply_key.kid.hex(),
    }


@pytest.mark.interop
@pytest.mark.parametrize("language", LANGUAGES)
def test_code_made_in_js_reads_the_same_in_python(language: str) -> None:
    status, output = _cli("generate", language)
    assert status == 0
    code = parse(output["code"])
    assert (code.entropy.hex(), code.language) == (output["entropy"], language)


@pytest.mark.interop
def test_both_sides_report_a_mistyped_code_alike() -> None:
    words = list(generate("ru").words)
    words[3] = words[3][:-1] + ("я" if words[3][-1] != "я" else "а")
    for text, position in ((" ".join(words), 4), (" ".join(words[:8]), None)):
        with pytest.raises(CodeError) as failure:
            parse(text)
        status, output = _cli("derive", stdin=text)
        assert status == 1
        assert output == {"reason": failure.value.reason, "position": failure.value.position}
        assert failure.value.position == position
