"""`haven partner serve`: refuses a network bind without TLS; serves the inbox in one process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from haven.envelope import PrivateKey
from haven.partner.web.security import CONTENT_SECURITY_POLICY
from tests.team_inbox import make_team


def _haven(
    *args: str | Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "haven.cli.main", *map(str, args)],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("bind", ["0.0.0.0", "192.0.2.10", "::"])  # noqa: S104 - the refused binds
def test_a_network_bind_without_tls_is_refused_in_one_line(tmp_path: Path, bind: str) -> None:
    done = _haven("partner", "serve", "--inbox", tmp_path, "--partner", "alpha", "--bind", bind)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "TLS" in lines[0] and bind in lines[0]
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_half_the_tls_settings_are_refused(tmp_path: Path) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text("not used")
    done = _haven("partner", "serve", "--inbox", tmp_path, "--partner", "alpha", "--tls-cert", cert)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1


def test_an_inbox_without_a_team_is_refused(tmp_path: Path) -> None:
    done = _haven(
        "partner",
        "serve",
        "--inbox",
        tmp_path / "none",
        "--partner",
        "alpha",
        env={"HAVEN_AMQP_URL": "amqp://guest:guest@127.0.0.1:5672/%2F"},
    )
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1 and "team init" in done.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_it_serves_the_unlock_page_from_one_process_without_an_access_log(tmp_path: Path) -> None:
    root = tmp_path / "inbox"
    make_team(root, PrivateKey.generate())
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "haven.cli.main",
            "partner",
            "serve",
            "--inbox",
            str(root),
            "--partner",
            "alpha",
            "--port",
            str(port),
        ],
        env={**os.environ, "HAVEN_AMQP_URL": "amqp://guest:guest@127.0.0.1:5672/%2F"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/unlock", timeout=5) as answer:
                    assert answer.status == 200
                    assert answer.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
                    assert 'id="unlock-form"' in answer.read().decode()
                break
            except OSError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "the inbox did not start"
                time.sleep(0.2)
    finally:
        server.send_signal(signal.SIGTERM)
        _out, err = server.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/" in err
    # No access log: neither the path nor the client's address.
    assert "GET /unlock" not in err and '"GET' not in err
