"""The worker process: configured from the environment, stopped by SIGTERM without losing anything."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from pika.adapters.blocking_connection import BlockingChannel

from haven.broker import INTAKE_QUEUE
from haven.broker.topology import partner_queue
from haven.directory import sign_directory
from haven.envelope import NetworkKey
from schemas.directory import Directory
from tests.worker.conftest import (
    depth,
    router_key_file,
    router_settings,
    sealed,
    take_all,
    wait_until,
)
from worker import declare_routing

pytestmark = pytest.mark.broker

PARTNERS = ("alpha", "bravo", "charlie", "delta")


def test_sigterm_stops_the_worker_cleanly_and_loses_nothing(
    tmp_path: Path,
    fresh_broker_url: str,
    directory: Directory,
    channel: BlockingChannel,
    publish: Callable[[bytes], str],
) -> None:
    network_key = NetworkKey.generate()
    (tmp_path / "directory.json").write_bytes(sign_directory(directory, network_key))
    (tmp_path / "network.pub").write_text(network_key.verify_key.to_text() + "\n")
    declare_routing(router_settings(fresh_broker_url), frozenset(PARTNERS))
    ids = {publish(sealed(directory, content=str(i).encode())) for i in range(200)}
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HAVEN_AMQP_URL": fresh_broker_url,
        "HAVEN_DIRECTORY_FILE": str(tmp_path / "directory.json"),
        "HAVEN_NETWORK_VERIFY_KEY_FILE": str(tmp_path / "network.pub"),
        "HAVEN_DIRECTORY_STATE": str(tmp_path / "seen.json"),
        "HAVEN_ROUTER_PREFETCH": "5",
        # The same limits as the topology declared above: a quorum queue
        # refuses a redeclare with other arguments.
        "HAVEN_RETRY_DELAYS": "1,1",
        "HAVEN_STORE_URL": f"sqlite:///{tmp_path / 'store.sqlite3'}",
        **router_key_file(tmp_path),
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "worker.main"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        in_partners = lambda: sum(depth(channel, partner_queue(p)) for p in PARTNERS)  # noqa: E731
        wait_until(lambda: in_partners() > 0, timeout=20, what="worker routing")
        worker.send_signal(signal.SIGTERM)
        _, logs = worker.communicate(timeout=20)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate()
    assert worker.returncode == 0, logs
    routed = in_partners()
    assert routed + depth(channel, INTAKE_QUEUE) == len(ids)
    found = Counter(
        p.message_id for partner in PARTNERS for p, _ in take_all(channel, partner_queue(partner))
    )
    assert max(found.values()) == 1 and set(found) <= ids
    # Logs name ids and partners, never a label or anything from the envelope.
    assert "router stopped" in logs
    assert "ru-central" not in logs and "desertion" not in logs
    assert (tmp_path / "seen.json").exists()
