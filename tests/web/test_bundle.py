"""The committed browser bundles: reproducible from web/src, tested, and free of what must never ship.

`intake/static/haven-form.js` and `haven-pow-worker.js` are build
outputs of web/build.mjs, committed so that the intake needs no Node. These
tests make sure that what is served is exactly what the source builds, that
the Node tests of the browser code pass (they check it against Python's own
directory, proof-of-work and content code), and that the bundles contain no
third-party URL and no storage, cookie or service-worker API. They never
skip: without Node or web/node_modules they fail and say what to install.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.repo import REPO

WEB = REPO / "web"
STATIC = REPO / "intake" / "static"
BUNDLES = ("haven-form.js", "haven-pow-worker.js", "haven-receipt-worker.js")
TIMEOUT_SECONDS = 300
# The form page's whole weight budget is 150 KB compressed (docs/web-form.md);
# the crypto bundle must leave most of it to the page.
FORM_BUNDLE_GZIP_BUDGET = 100 * 1024

# What the bundles must never use: each is a way to leave a trace on the
# phone (storage, cookies, history, a service worker) or to talk to someone
# other than the intake.
FORBIDDEN = (
    "localStorage",
    "sessionStorage",
    "indexedDB",
    "document.cookie",
    "serviceWorker",
    "pushState",
    "replaceState",
    "sendBeacon",
    "WebSocket",
    "XMLHttpRequest",
    "EventSource",
    "importScripts",
)
URL = re.compile(rb"(?i)\b(?:https?|wss?|ftp)://")

pytestmark = pytest.mark.interop


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js (>= 20) is not on PATH; the bundle tests need it", pytrace=False)
    for package in ("esbuild", "@noble/curves", "@noble/hashes", "@hpke/core"):
        if not (WEB / "node_modules" / package / "package.json").is_file():
            pytest.fail(
                f"web/node_modules lacks {package}: run `cd web && npm ci` (or `make unit`)",
                pytrace=False,
            )
    return node


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    # The Node tests call Python (tests/web/js_fixtures.py): this interpreter.
    env = {**os.environ, "HAVEN_PYTHON": sys.executable}
    return subprocess.run(
        [_node(), *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )


def test_committed_bundles_are_what_the_source_builds() -> None:
    result = _run("web/build.mjs", "--check")
    assert result.returncode == 0, (
        "the committed bundles differ from a fresh build; run `npm run build` in web/:\n"
        f"{result.stdout}{result.stderr}"
    )


def test_build_check_detects_a_changed_or_missing_bundle(tmp_path: Path) -> None:
    copy = tmp_path / "static"
    shutil.copytree(STATIC, copy)
    assert _run("web/build.mjs", "--check", "--outdir", str(copy)).returncode == 0

    form = copy / "haven-form.js"
    form.write_bytes(form.read_bytes().replace(b"haven-config", b"haven-confiG", 1))
    result = _run("web/build.mjs", "--check", "--outdir", str(copy))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "haven-form.js" in result.stderr
    assert "haven-pow-worker.js: up to date" in result.stdout

    (copy / "haven-pow-worker.js").unlink()
    result = _run("web/build.mjs", "--check", "--outdir", str(copy))
    assert result.returncode == 1
    assert "haven-pow-worker.js: missing" in result.stderr


def test_build_writes_the_same_bytes_twice(tmp_path: Path) -> None:
    """Deterministic: no timestamp, no absolute path, nothing of the machine that built it."""
    for run in ("one", "two"):
        result = _run("web/build.mjs", "--outdir", str(tmp_path / run))
        assert result.returncode == 0, result.stderr
    for name in BUNDLES:
        first = (tmp_path / "one" / name).read_bytes()
        assert first == (tmp_path / "two" / name).read_bytes()
        assert first == (STATIC / name).read_bytes()


def test_node_tests_of_the_browser_code_pass() -> None:
    result = _run("--test", "web/test/")
    assert result.returncode == 0, f"node --test web/test/ failed:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("name", BUNDLES)
def test_bundle_has_no_third_party_url_and_no_trace_api(name: str) -> None:
    code = (STATIC / name).read_bytes()
    # No URL of any origin: the page's own URLs come from its config.
    assert URL.search(code) is None, URL.search(code)
    for word in FORBIDDEN:
        assert word.encode().lower() not in code.lower(), word
    # Nothing of the build machine.
    assert str(REPO).encode() not in code
    assert b"node_modules" not in code
    assert code.isascii()


def test_form_bundle_is_small() -> None:
    raw = (STATIC / "haven-form.js").read_bytes()
    compressed = len(gzip.compress(raw, 9))
    print(f"\nhaven-form.js: {len(raw)} bytes, {compressed} bytes gzip")
    assert compressed < FORM_BUNDLE_GZIP_BUDGET
