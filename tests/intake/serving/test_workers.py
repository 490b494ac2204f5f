"""The intake under gunicorn with HAVEN_WORKERS processes: every worker serves, /metrics adds them all up.

Who served what is read from what the real processes left behind, not
from a mock: the per-process metrics files prometheus-client writes in the
server's private directory (found under the TMPDIR given to gunicorn), and
the kernel's table of each process's sockets for the broker connections.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from pika.adapters.blocking_connection import BlockingChannel
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from haven.envelope import PrivateKey
from tests.conftest import BROKER_PORT
from tests.intake.conftest import (
    ROUTING,
    NetworkFiles,
    free_port,
    paid,
    running_gunicorn,
    sealed,
    solve,
)
from tests.intake.serving.test_ops_listener import fetch
from tests.intake.test_privacy import call
from tests.repo import REPO

pytestmark = pytest.mark.broker

ACCEPTED = {"endpoint": "api.submit", "outcome": "accepted", "category": ROUTING["category"]}


def submit(base: str, partners: dict[str, PrivateKey]) -> None:
    """One valid submission over HTTP, accepted (202)."""
    status, challenge = call(base, "/v1/challenge")
    assert status == 200, challenge
    envelope = sealed(partners)
    body = {
        "routing": ROUTING,
        "envelope": base64.b64encode(envelope).decode(),
        "pow": {
            "challenge": challenge["token"],
            "nonce": solve(challenge["token"], envelope, challenge["difficulty"]),
        },
    }
    status, answer = call(base, "/v1/requests", json.dumps(body).encode(), **paid(body))
    assert status == 202, answer


def workers_of(master: int, count: int, *, besides: frozenset[int] = frozenset()) -> set[int]:
    """The pids of `master`'s `count` workers, once it has that many and none of them is in `besides`."""
    deadline = time.monotonic() + 30
    while True:
        children = set()
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                # The command may hold spaces and parentheses: the ppid follows the last ')'.
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue  # gone meanwhile
            if int(fields[1]) == master:
                children.add(int(stat.parent.name))
        if len(children) == count and not children & besides:
            return children
        assert time.monotonic() < deadline, f"workers of {master}: {children}"
        time.sleep(0.1)


def metrics_dir(tmp: Path) -> Path:
    """The server's private metrics directory (intake.serving.processes), made under its TMPDIR."""
    (directory,) = tmp.glob("haven-intake-metrics-*")
    return directory


def accepted_by(directory: Path, pid: int) -> float:
    """Submissions accepted by one process, from the counter file it wrote."""
    counters = directory / f"counter_{pid}.db"
    if not counters.exists():
        return 0.0
    for metric in MultiProcessCollector.merge([str(counters)]):
        for sample in metric.samples:
            if sample.name == "haven_intake_requests_total" and sample.labels == ACCEPTED:
                return sample.value
    return 0.0


def scraped(ops: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """What /metrics says: sample (name, labels) -> value."""
    status, text = fetch(f"{ops}/metrics")
    assert status == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text.decode())
        for sample in family.samples
    }


def accepted_total(ops: str) -> float:
    return scraped(ops).get(("haven_intake_requests_total", frozenset(ACCEPTED.items())), 0.0)


def broker_connections(pid: int) -> int:
    """TCP connections process `pid` holds to the broker's port, from the kernel's tables."""
    sockets = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            sockets.add(target[len("socket:[") : -1])
    established = "01"
    count = 0
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if remote_port == BROKER_PORT and fields[3] == established and fields[9] in sockets:
                count += 1
    return count


def submit_until_every_worker_served(
    base: str, partners: dict[str, PrivateKey], served: Callable[[], bool]
) -> int:
    """Submit in concurrent rounds until `served()` says every worker took some; how many were accepted."""
    accepted = 0
    with ThreadPoolExecutor(max_workers=8) as pool:
        while not served():
            assert accepted < 400, "one worker took every submission"
            list(pool.map(lambda _: submit(base, partners), range(16)))
            accepted += 16
    return accepted


@dataclass(frozen=True)
class TwoWorkers:
    base: str
    ops: str
    process: subprocess.Popen[bytes]
    pids: frozenset[int]
    directory: Path  # the server's private metrics directory


@contextmanager
def two_workers(files: NetworkFiles, broker_url: str, tmp: Path) -> Iterator[TwoWorkers]:
    """gunicorn with HAVEN_WORKERS=2 and its own TMPDIR, once both workers run."""
    tmp.mkdir()
    ops_port = free_port()
    with running_gunicorn(
        files, broker_url, ops_port=ops_port, HAVEN_WORKERS="2", TMPDIR=str(tmp)
    ) as (base, process):
        yield TwoWorkers(
            base,
            f"http://127.0.0.1:{ops_port}",
            process,
            frozenset(workers_of(process.pid, 2)),
            metrics_dir(tmp),
        )


def test_two_workers_serve_and_metrics_add_up(
    files: NetworkFiles,
    intake_broker_url: str,
    partners: dict[str, PrivateKey],
    channel: BlockingChannel,
    tmp_path: Path,
) -> None:
    with two_workers(files, intake_broker_url, tmp_path / "tmp") as server:
        base, ops, process, pids, directory = (
            server.base, server.ops, server.process, server.pids, server.directory,
        )  # fmt: skip
        accepted = submit_until_every_worker_served(
            base, partners, lambda: all(accepted_by(directory, pid) for pid in pids)
        )
        # Each worker answered some, and /metrics (whichever worker answers
        # it) reads the sum, not one worker's share.
        assert sum(accepted_by(directory, pid) for pid in pids) == accepted
        for _ in range(4):
            assert accepted_total(ops) == accepted
        samples = scraped(ops)
        latency = frozenset({"endpoint": "api.submit", "outcome": "accepted"}.items())
        assert samples[("haven_intake_request_duration_seconds_count", latency)] == accepted
        # One broker connection per worker, opened after the fork; none in the master.
        for pid in pids:
            assert broker_connections(pid) == 1, pid
        assert broker_connections(process.pid) == 0
        # Nor any thread of its own in the master (no publisher I/O thread,
        # no operators' server): what it forks next is a clean copy.
        assert [task.name for task in Path(f"/proc/{process.pid}/task").iterdir()] == [
            str(process.pid)
        ]
        assert fetch(f"{ops}/readyz")[0] == 200


def test_a_killed_worker_is_replaced_and_its_counts_kept(
    files: NetworkFiles,
    intake_broker_url: str,
    partners: dict[str, PrivateKey],
    channel: BlockingChannel,
    tmp_path: Path,
) -> None:
    tmp = tmp_path / "tmp"
    with two_workers(files, intake_broker_url, tmp) as server:
        base, ops, process, pids, directory = (
            server.base, server.ops, server.process, server.pids, server.directory,
        )  # fmt: skip
        before = submit_until_every_worker_served(
            base, partners, lambda: all(accepted_by(directory, pid) for pid in pids)
        )
        killed = min(pids)
        assert list(directory.glob(f"gauge_live*_{killed}.db"))
        os.kill(killed, signal.SIGKILL)
        now = workers_of(process.pid, 2, besides=frozenset({killed}))
        (replacement,) = now - pids
        # What the dead worker counted stays counted; its live gauges (the
        # last difficulty it issued, the directory it served) leave the sum.
        assert (directory / f"counter_{killed}.db").exists()
        assert not list(directory.glob(f"gauge_live*_{killed}.db"))
        assert accepted_total(ops) == before
        after = submit_until_every_worker_served(
            base, partners, lambda: accepted_by(directory, replacement) > 0
        )
        assert accepted_total(ops) == before + after
        assert broker_connections(replacement) == 1
        samples = scraped(ops)
        assert samples[("haven_intake_pow_difficulty_bits", frozenset())] >= 8
        assert samples[("haven_intake_directory_version", frozenset())] == 3
    # The directory goes with the server.
    assert not list(tmp.glob("haven-intake-metrics-*"))


def test_one_worker_keeps_its_counts_across_a_replacement(
    files: NetworkFiles,
    intake_broker_url: str,
    partners: dict[str, PrivateKey],
    channel: BlockingChannel,
) -> None:
    """HAVEN_WORKERS unset: one worker, as before; a worker gunicorn replaces no longer starts the counts at zero."""
    ops_port = free_port()
    ops = f"http://127.0.0.1:{ops_port}"
    with running_gunicorn(files, intake_broker_url, ops_port=ops_port) as (base, process):
        (worker,) = workers_of(process.pid, 1)
        for _ in range(3):
            submit(base, partners)
        assert accepted_total(ops) == 3
        os.kill(worker, signal.SIGKILL)
        (replacement,) = workers_of(process.pid, 1, besides=frozenset({worker}))
        for _ in range(2):
            submit(base, partners)
        assert accepted_total(ops) == 5
        assert broker_connections(replacement) == 1


def gunicorn_until_it_stops(
    files: NetworkFiles, broker_url: str, **environ: str
) -> subprocess.CompletedProcess[str]:
    """gunicorn with the intake's config, for a start that must fail: its exit and output."""
    return subprocess.run(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "-c",
            "python:intake.serving.gunicorn_conf",
        ],
        cwd=REPO,
        env={
            **files.environ(broker_url),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            # Were it let through, the server would not take anyone's ports.
            "HAVEN_BIND": f"127.0.0.1:{free_port()}",
            **environ,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("value", ["0", "65", "two", "1.5"])
def test_a_bad_worker_count_stops_with_one_line(files: NetworkFiles, value: str) -> None:
    done = gunicorn_until_it_stops(
        files,
        "amqp://guest:guest@127.0.0.1:1/unused",
        HAVEN_WORKERS=value,
        HAVEN_OPS_BIND=f"127.0.0.1:{free_port()}",
    )
    assert done.returncode != 0
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1, done.stderr
    assert "HAVEN_WORKERS" in done.stderr


def test_an_ops_bind_in_use_stops_the_master_before_any_worker(
    files: NetworkFiles, intake_broker_url: str, tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = gunicorn_until_it_stops(
            files,
            intake_broker_url,
            HAVEN_WORKERS="2",
            HAVEN_OPS_BIND=f"127.0.0.1:{port}",
            TMPDIR=str(tmp_path),
        )
    assert done.returncode == 3
    # Said once, by the master, which forked no worker to fail in its turn.
    assert done.stderr.count(f"cannot listen for operators on HAVEN_OPS_BIND 127.0.0.1:{port}") == 1
    assert "Booting worker" not in done.stderr
    # The app was built (its metrics directory made) before the port was
    # found taken; the directory goes with the master all the same.
    assert not list(tmp_path.glob("haven-intake-metrics-*"))
