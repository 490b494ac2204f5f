"""Python and the browser's JavaScript (web/src/envelope.js) seal and open each other's envelopes.

These tests drive web/test/interop-cli.mjs with Node. They never skip: a CI
run without Node or without web/node_modules fails with a message saying what
to install, since a silently skipped interop test would let the two sides drift.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from haven.envelope import Labels, OpenError, PrivateKey, PublicKey, open_envelope, seal
from tests.repo import REPO as REPO_ROOT

CLI = REPO_ROOT / "web" / "test" / "interop-cli.mjs"
VECTORS = REPO_ROOT / "tests" / "haven" / "envelope" / "vectors" / "envelope-v1.json"
REQUIRED_PACKAGES = ("@hpke/core", "@hpke/hybridkem-x-wing")
TIMEOUT_SECONDS = 120

DESERTION = Labels("desertion", "ru-central", "ru", "urgent")
LEGAL_AID = Labels("legal_aid", "abroad-eu", "uk", "normal")
CONTENT = json.dumps(
    {"v": 1, "category": "desertion", "fields": {"situation": "в части", "needs": ["legal"]}},
    ensure_ascii=False,
).encode("utf-8")


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js (>= 20) is not on PATH; the JS interop tests need it", pytrace=False)
    for package in REQUIRED_PACKAGES:
        if not (REPO_ROOT / "web" / "node_modules" / package / "package.json").is_file():
            pytest.fail(
                f"web/node_modules lacks {package}: run `cd web && npm ci` (or `make unit`)",
                pytrace=False,
            )
    return node


def _run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_node(), *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )


def _cli(command: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    result = _run(str(CLI), command, stdin=json.dumps(payload))
    assert result.returncode in (0, 1), f"interop-cli {command} crashed:\n{result.stderr}"
    output: dict[str, Any] = json.loads(result.stdout)
    return result.returncode, output


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@pytest.mark.interop
def test_sealed_in_js_opens_in_python_for_each_recipient() -> None:
    keys = [PrivateKey.generate(), PrivateKey.generate()]
    code, output = _cli(
        "seal",
        {
            "recipients": [_b64(key.public_key.to_bytes()) for key in keys],
            "labels": asdict(DESERTION),
            "content": _b64(CONTENT),
            "server_sealed": False,
        },
    )
    assert code == 0
    envelope = base64.b64decode(output["envelope"], validate=True)
    for key in keys:
        opened = open_envelope(envelope, [key])
        assert opened.content == CONTENT
        assert opened.labels == DESERTION
        assert opened.server_sealed is False
    with pytest.raises(OpenError):
        open_envelope(envelope, [PrivateKey.generate()])


@pytest.mark.interop
def test_server_sealed_flag_and_other_labels_from_js_reach_python() -> None:
    key = PrivateKey.generate()
    code, output = _cli(
        "seal",
        {
            "recipients": [_b64(key.public_key.to_bytes())],
            "labels": asdict(LEGAL_AID),
            "content": _b64(b""),
            "server_sealed": True,
        },
    )
    assert code == 0
    opened = open_envelope(base64.b64decode(output["envelope"], validate=True), [key])
    assert (opened.labels, opened.server_sealed, opened.content) == (LEGAL_AID, True, b"")


@pytest.mark.interop
def test_sealed_in_python_opens_in_js_for_each_recipient() -> None:
    keys = [PrivateKey.generate(), PrivateKey.generate()]
    envelope = seal(CONTENT, DESERTION, [key.public_key for key in keys], server_sealed=True)
    for key in keys:
        code, output = _cli("open", {"seeds": [key.seed.hex()], "envelope": _b64(envelope)})
        assert code == 0
        assert base64.b64decode(output["content"], validate=True) == CONTENT
        assert output["labels"] == asdict(DESERTION)
        assert output["server_sealed"] is True


@pytest.mark.interop
def test_js_gives_the_one_open_error_for_a_tampered_python_envelope() -> None:
    key = PrivateKey.generate()
    envelope = bytearray(seal(CONTENT, DESERTION, [key.public_key]))
    envelope[-1] ^= 0x01
    code, output = _cli("open", {"seeds": [key.seed.hex()], "envelope": _b64(bytes(envelope))})
    assert (code, output) == (1, {"error": "open"})


@pytest.mark.interop
@pytest.mark.parametrize("seed", [bytes(32), bytes(range(32)), b"\xff" * 32, None])
def test_js_public_key_and_kid_from_a_seed_equal_python(seed: bytes | None) -> None:
    key = PrivateKey.generate() if seed is None else PrivateKey.from_seed(seed)
    code, output = _cli("pubkey", {"seed": key.seed.hex()})
    assert code == 0
    public_key = base64.b64decode(output["public_key"], validate=True)
    assert public_key == key.public_key.to_bytes()
    assert output["kid"] == key.public_key.kid.hex()
    assert PublicKey.from_bytes(public_key).kid == key.public_key.kid


@pytest.mark.interop
def test_js_passes_the_committed_vectors() -> None:
    result = _run(str(CLI), "vectors", str(VECTORS))
    assert result.returncode == 0, f"JS vectors run failed:\n{result.stdout}{result.stderr}"
    assert result.stdout.rstrip().endswith(" 0 failed")


@pytest.mark.interop
def test_js_vectors_run_catches_a_wrong_vector(tmp_path: Path) -> None:
    vectors = json.loads(VECTORS.read_text(encoding="utf-8"))
    vectors["positive"][0]["content"] = "00" + vectors["positive"][0]["content"]
    vectors["negative"][0]["parse_fails"] = not vectors["negative"][0]["parse_fails"]
    # The documented extra fields are checked too (docs/envelope-v1.md section 12).
    vectors["positive"][1]["intermediate"]["body_key"] = "00" * 32
    vectors["positive"][2]["kids"][0] = "00" * 32
    vectors["positive"][3]["intermediate"]["file_key"] = "00" * 32
    wrong = tmp_path / "wrong-vectors.json"
    wrong.write_text(json.dumps(vectors), encoding="utf-8")
    result = _run(str(CLI), "vectors", str(wrong))
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.rstrip().endswith(" 5 failed")
    for problem in (
        "intermediate.body_key is not HKDF of the file key",
        "kids[0] is not SHA-256 of the public key",
        "its stanza does not open to intermediate.file_key",
    ):
        assert problem in result.stdout


@pytest.mark.interop
def test_js_unit_tests_pass() -> None:
    result = _run("--test", "web/test/")
    assert result.returncode == 0, f"node --test web/test/ failed:\n{result.stdout}{result.stderr}"
