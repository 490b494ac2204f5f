"""`make run` end to end: the demo network routes its example request through intake and router."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pika
import pytest

pytestmark = pytest.mark.broker


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_demo_network_routes_the_example_to_one_partner(
    fresh_broker_url: str, tmp_path: Path
) -> None:
    demo = tmp_path / "demo"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "haven.cli.main",
            "demo",
            "--dir",
            str(demo),
            "--serve",
            "--check",
            "--port",
            str(free_port()),
        ],
        env={**os.environ, "HAVEN_AMQP_URL": fresh_broker_url},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "The intake confirmed request" in done.stdout
    assert "The router gave it to demo-" in done.stdout
    connection = pika.BlockingConnection(pika.URLParameters(fresh_broker_url))
    try:
        depths = {
            name: connection.channel()
            .queue_declare(f"haven.partner.{name}", passive=True)
            .method.message_count
            for name in ("demo-lawyers", "demo-evacuation")
        }
    finally:
        connection.close()
    # Exactly one partner holds it: routed, not broadcast.
    assert sorted(depths.values()) == [0, 1]
    # The demo's own secrets are private files.
    assert (demo / "DEMO-ONLY-passphrase").stat().st_mode & 0o077 == 0
    assert (demo / "DEMO-ONLY-pow.secret").stat().st_mode & 0o077 == 0
