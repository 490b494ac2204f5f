"""Running the browser's replies code under Node.js, for the JS-against-Python tests.

Shared by the receipt-code and message tests: both find Node and the
packages, drive a small JSON CLI, and run a node:test file against a
vectors file named in an environment variable.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.repo import REPO


def node(packages: tuple[str, ...], what: str) -> str:
    """The node executable; the test fails (never skips) without it or the packages."""
    found = shutil.which("node")
    if found is None:
        pytest.fail(f"Node.js (>= 20) is not on PATH; the {what} JS tests need it", pytrace=False)
    for package in packages:
        if not (REPO / "web" / "node_modules" / package / "package.json").is_file():
            pytest.fail(f"web/node_modules lacks {package}: run `cd web && npm ci`", pytrace=False)
    return found


def run_cli(node_path: str, cli: str, args: list[str], stdin: str) -> tuple[int, dict[str, Any]]:
    """The CLI's exit code (0 or 1) and its JSON answer; any other exit fails the test."""
    result = subprocess.run(
        [node_path, cli, *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert result.returncode in (0, 1), f"{Path(cli).stem} {args} crashed:\n{result.stderr}"
    output: dict[str, Any] = json.loads(result.stdout)
    return result.returncode, output


def run_js_tests(
    node_path: str, test_file: str, vectors_env: str, vectors: Path | None
) -> subprocess.CompletedProcess[str]:
    """`node --test test_file`, reading `vectors` (else its own default) from `vectors_env`."""
    env = {k: v for k, v in os.environ.items() if k != vectors_env}
    if vectors is not None:
        env[vectors_env] = str(vectors)
    return subprocess.run(
        [node_path, "--test", test_file],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=300,
        check=False,
    )
