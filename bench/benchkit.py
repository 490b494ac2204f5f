"""Pieces the benchmarks share: a vhost of a run's own on a broker, the client's proof of work, CPU clocks.

Imported by the bench/ scripts (run as `python bench/<name>.py`, so this
folder is on sys.path). Not a test and not package code.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from haven.envelope import inspect

POW_CONTEXT = b"haven/v1 pow\x00"


# -- a broker and a vhost of the run's own ------------------------------------------


def local_rabbitmqctl() -> tuple[str, ...]:
    executable = shutil.which("rabbitmqctl")
    if executable is None:
        raise SystemExit("rabbitmqctl is not installed")
    return (executable,)


@dataclass(frozen=True)
class Broker:
    """Where a run's vhosts are made: how to run rabbitmqctl there, and who connects to which port."""

    ctl: tuple[str, ...]
    user: str = "guest"
    password: str = "guest"  # noqa: S105 - the local test broker's well-known account
    host: str = "127.0.0.1"
    port: int = 5672

    def run(self, *args: str) -> str:
        done = subprocess.run(  # noqa: S603 - fixed executable, arguments built here
            [*self.ctl, *args], capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0:
            raise SystemExit(f"rabbitmqctl {' '.join(args)}: {done.stderr.strip() or done.stdout}")
        return done.stdout

    def url(self, vhost: str) -> str:
        return (
            f"amqp://{quote(self.user, safe='')}:{quote(self.password, safe='')}"
            f"@{self.host}:{self.port}/{quote(vhost, safe='')}"
        )


def local_broker() -> Broker:
    """The machine's own RabbitMQ at 127.0.0.1:5672 (the tests' broker)."""
    return Broker(local_rabbitmqctl())


def rabbitmqctl(*args: str) -> None:
    local_broker().run(*args)


@contextmanager
def fresh_vhost(broker: Broker | None = None) -> Iterator[str]:
    """The AMQP URL of a new vhost on `broker` (the local one by default), deleted on exit."""
    broker = broker or local_broker()
    vhost = f"haven-bench-{secrets.token_hex(4)}"
    broker.run("add_vhost", vhost)
    try:
        broker.run("set_permissions", "-p", vhost, broker.user, ".*", ".*", ".*")
        yield broker.url(vhost)
    finally:
        broker.run("delete_vhost", vhost)


# -- the client's proof of work (docs/intake-api.md) -----------------------------------


def solve(token: str, envelope: bytes, bits: int) -> str:
    """The first decimal nonce giving `bits` leading zero bits (docs/intake-api.md), hashlib's speed."""
    prefix = hashlib.sha256(
        POW_CONTEXT + base64.urlsafe_b64decode(token) + hashlib.sha256(envelope).digest()
    )
    shift = 64 - bits
    n = 0
    while True:
        attempt = prefix.copy()
        attempt.update(str(n).encode())
        if int.from_bytes(attempt.digest()[:8], "big") >> shift == 0:
            return str(n)
        n += 1


def submission(envelope: bytes, token: str, nonce: str) -> dict[str, Any]:
    """The JSON body of POST /v1/requests for `envelope`, paid with `token` and `nonce`."""
    return {
        "routing": inspect(envelope).labels.__dict__,
        "envelope": base64.b64encode(envelope).decode(),
        "pow": {"challenge": token, "nonce": nonce},
    }


# -- CPU time of processes, from /proc ------------------------------------------------------

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU seconds the processes have used so far (those gone count 0)."""
    total = 0.0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        # Fields after the command (which may hold spaces), from its closing parenthesis:
        # utime and stime are the 14th and 15th fields of the line.
        fields = stat[stat.rindex(")") + 2 :].split()
        total += (int(fields[11]) + int(fields[12])) / _TICKS
    return total


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found
