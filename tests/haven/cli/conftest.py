"""Run the real `haven` command in a subprocess, as a partner or publisher would."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.haven.partner.conftest import (  # noqa: F401 - the partner network, for the two-way test
    channel,
    make_network,
    partner_private_keys,
)
from tests.repo import REPO

EXAMPLES = REPO / "haven" / "examples"


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


Haven = Callable[..., Result]


@pytest.fixture
def haven(tmp_path: Path) -> Haven:
    def run(*args: str | Path, stdin: bytes | None = None) -> Result:
        done = subprocess.run(
            [sys.executable, "-m", "haven.cli.main", *map(str, args)],
            cwd=tmp_path,
            input=stdin,
            capture_output=True,
            timeout=120,
            check=False,
        )
        return Result(done.returncode, done.stdout.decode(), done.stderr.decode())

    return run


@pytest.fixture
def passphrase_file(tmp_path: Path) -> Path:
    path = tmp_path / "passphrase"
    path.write_text("test-only passphrase: correct horse battery staple\n")
    return path


def assert_one_line_error(result: Result, *fragments: str) -> None:
    """Errors are one clear line on stderr with a non-zero exit, never a traceback."""
    assert result.code != 0, result
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("haven: error: "), lines[0]
    assert "Traceback" not in result.err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
