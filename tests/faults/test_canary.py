"""Canary: a marker typed into real requests is found nowhere but in the partner's inbox.

Requests whose content carries a random marker are submitted through the
intake (with a marker in the User-Agent and a forwarded-for address too),
routed by a router process and pulled by a partner. Then the broker's
message store on disk, RabbitMQ's log, the intake's and the router's logs,
the partner command's output, and every metric exposition are searched:
the content marker, the user agent and the address appear in none of them.

Positive controls keep the search honest: the marker is in the partner's
inbox (it did travel), and bytes of the sealed envelopes are found in the
broker's data directory (the search reads where messages really are).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tarfile
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from haven.cli.intake_client import solve
from haven.envelope import inspect
from intake.guards.pow import CHALLENGE_HEADER
from tests.conftest import BROKER_CONTAINER, rabbitmqctl
from tests.haven.partner.conftest import (  # noqa: F401 - fixtures shared with the partner tests
    EXAMPLE,
    Network,
    channel,
    depth,
    make_network,
    partner_private_keys,
    wait_until,
)

pytestmark = pytest.mark.broker

REQUESTS = 30
PARTNERS = ("alpha", "bravo")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _fetch(url: str, headers: dict[str, str], body: dict[str, object] | None = None) -> bytes:
    data = json.dumps(body).encode() if body is not None else None
    method = "POST" if data else "GET"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - the test's own services
        return bytes(answer.read())


def _broker_files(scratch: Path) -> list[Path]:
    """The broker's files on disk and its logs; `scratch` holds copies of a container's."""
    data_dir = rabbitmqctl("eval", "rabbit_mnesia:dir().").strip().strip('"')
    # RabbitMQ's own log files, wherever this node writes them.
    logs = re.findall(r'"([^"]+)"', rabbitmqctl("eval", "rabbit:log_locations()."))
    if BROKER_CONTAINER:
        data_dir, logs = _container_files(data_dir, scratch)
    files = [p for p in Path(data_dir).rglob("*") if p.is_file()]
    files += [Path(log) for log in logs if Path(log).is_file()]
    assert files and logs, (data_dir, logs)
    return files


def _container_files(data_dir: str, scratch: Path) -> tuple[str, list[str]]:
    """A copy of the RabbitMQ 4 node's data directory, and its log (standard output, `docker logs`)."""
    # Read through tar inside the container: its data directory is a tmpfs,
    # which `docker cp` does not see.
    packed = subprocess.run(
        ["docker", "exec", BROKER_CONTAINER, "tar", "-c", "-C", data_dir, "."],
        capture_output=True,
        timeout=120,
        check=True,
    )
    copy = scratch / "broker-data"
    with tarfile.open(fileobj=io.BytesIO(packed.stdout)) as archive:
        archive.extractall(copy, filter="data")
    logged = subprocess.run(
        ["docker", "logs", BROKER_CONTAINER],
        capture_output=True,
        timeout=120,
        check=True,
    )
    log = scratch / "broker.log"
    log.write_bytes(logged.stdout + logged.stderr)
    return str(copy), [str(log)]


def _found_in(files: list[Path], needles: list[bytes]) -> list[str]:
    hits = []
    for path in files:
        try:
            data = path.read_bytes()
        except OSError:
            continue  # a segment rotated away while reading
        hits += [f"{path}: {needle!r}" for needle in needles if needle in data]
    return hits


def test_marker_is_nowhere_but_in_the_partner_inbox(
    make_network: Callable[..., Network],  # noqa: F811 - the fixture
    channel,  # noqa: F811 - the fixture
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    marker = f"HAVEN-CANARY-{secrets.token_hex(8)}"
    agent = f"CanaryAgent/{secrets.token_hex(6)}"
    address = f"203.0.113.{secrets.randbelow(250) + 1}"
    needles = [marker.encode(), agent.encode(), address.encode()]
    network = make_network()
    document = json.loads(EXAMPLE)
    document["fields"]["message"] = f"Меня зовут {marker}, помогите."
    document["fields"]["contact_handle"] = marker[-20:]
    headers = {"User-Agent": agent, "X-Forwarded-For": address, "X-Real-IP": address}

    metrics_port = _free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        **network.env,
        "HAVEN_RETRY_DELAYS": "1,1",
        "HAVEN_METRICS_PORT": str(metrics_port),
    }
    router_log = network.root / "router.log"
    with router_log.open("wb") as log:
        router = subprocess.Popen([sys.executable, "-m", "worker.main"], env=env, stderr=log)
    envelopes = []
    try:
        for _ in range(REQUESTS):
            envelope = network.seal(json.dumps(document, ensure_ascii=False).encode())
            envelopes.append(envelope)
            challenge = json.loads(_fetch(f"{network.intake_url}/v1/challenge", headers))
            nonce = solve(
                challenge["token"], hashlib.sha256(envelope).digest(), challenge["difficulty"]
            )
            _fetch(
                f"{network.intake_url}/v1/requests",
                {**headers, CHALLENGE_HEADER: challenge["token"]},
                {
                    "routing": inspect(envelope).labels.__dict__,
                    "envelope": base64.b64encode(envelope).decode(),
                    "pow": {"challenge": challenge["token"], "nonce": nonce},
                },
            )
        wait_until(
            lambda: sum(depth(channel, f"haven.partner.{p}") for p in PARTNERS) == REQUESTS,
            timeout=60,
            what="all routed",
        )
        # While the requests sit in the partner queues: the broker's store on disk.
        broker_files = _broker_files(network.root)
        on_disk = _found_in(broker_files, needles)
        # Positive control: the sealed envelopes themselves are on that disk.
        control = _found_in(broker_files, [envelopes[0][200:240]])
        exposed = [
            _fetch(f"{network.ops_url}/metrics", headers),
            _fetch(f"http://127.0.0.1:{metrics_port}/metrics", {}),
        ]
    finally:
        router.send_signal(signal.SIGTERM)
        router.wait(30)
    pulls = [network.pull(p) for p in PARTNERS]
    assert all(result.code == 0 for result in pulls)

    assert control, (
        "the search did not find the envelopes on the broker's disk: it searched the wrong place"
    )
    inbox_text = "".join(
        json.dumps(dict(entry.content), ensure_ascii=False)
        for partner in PARTNERS
        for entry in network.open_inbox(partner).entries()
    )
    assert inbox_text.count(marker) == REQUESTS  # it travelled, sealed, to the partner
    # And it rests there sealed: the inbox folders' bytes do not hold it.
    inbox_bytes = b"".join(
        p.read_bytes()
        for partner in PARTNERS
        for p in network.inbox(partner).rglob("*")
        if p.is_file()
    )
    assert marker.encode() not in inbox_bytes
    assert on_disk == []
    logs = [router_log.read_bytes(), *(r.out.encode() + r.err.encode() for r in pulls)]
    logs.append("\n".join(record.getMessage() for record in caplog.records).encode())
    for text in logs + exposed:
        for needle in needles:
            assert needle not in text
    # The counts belong in the test run's output, also when it passes.
    with capsys.disabled():
        print(
            f"\ncanary: {REQUESTS} requests; searched {len(broker_files)} broker files, {len(logs)} logs, {len(exposed)} metric pages: found nowhere"
        )
