"""web/src/receipt.js passes the receipt-code vectors, and its test fails on a wrong vector.

Like the envelope's interop tests these never skip: a run without Node or
without web/node_modules fails and says what to install.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.haven.replies.make_vectors import VECTORS
from tests.repo import REPO

TEST_FILE = "web/test/receipt.test.mjs"
REQUIRED_PACKAGES = ("hash-wasm", "@noble/hashes", "@hpke/hybridkem-x-wing")


def _run_js_tests(vectors: Path | None = None) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    if node is None:
        pytest.fail(
            "Node.js (>= 20) is not on PATH; the receipt-code JS tests need it", pytrace=False
        )
    for package in REQUIRED_PACKAGES:
        if not (REPO / "web" / "node_modules" / package / "package.json").is_file():
            pytest.fail(f"web/node_modules lacks {package}: run `cd web && npm ci`", pytrace=False)
    env = {k: v for k, v in os.environ.items() if k != "HAVEN_REPLIES_VECTORS"}
    if vectors is not None:
        env["HAVEN_REPLIES_VECTORS"] = str(vectors)
    return subprocess.run(
        [node, "--test", TEST_FILE],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=300,
        check=False,
    )


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
    vectors["negative"][8]["reason"] = "unknown_word"
    wrong = tmp_path / "wrong-vectors.json"
    wrong.write_text(json.dumps(vectors, ensure_ascii=False), encoding="utf-8")
    result = _run_js_tests(wrong)
    assert result.returncode != 0
    assert "# fail 5" in result.stdout, result.stdout
