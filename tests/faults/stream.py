"""A stream of requests through an intake's HTTP API, proof of work included, and what it was answered.

Shared by the fault tests that break things while requests flow: the one on
the machine's broker (tests/faults/test_fault_injection.py) and the one on
the three-node compose cluster (tests/compose/test_cluster.py). A requester
here does what a requester's device does: fetch a challenge, solve it over
the envelope's digest, post, and after a 503 post the same envelope again
after Retry-After, until it is accepted (202).
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field

from haven.cli.intake_client import solve
from haven.envelope import digest, inspect
from intake.guards.pow import CHALLENGE_HEADER


@dataclass
class Stream:
    accepted: set[str] = field(default_factory=set)
    statuses: Counter[int] = field(default_factory=Counter)
    slowest: float = 0.0
    missing_retry_after: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, status: int, elapsed: float, retry_after: str | None) -> None:
        with self.lock:
            self.statuses[status] += 1
            self.slowest = max(self.slowest, elapsed)
            if status == 503 and not retry_after:
                self.missing_retry_after += 1


def http(
    url: str, body: dict[str, object] | None, stream: Stream
) -> tuple[int, dict[str, object], float]:
    """One request to the intake, recorded in `stream`: its status, JSON answer and Retry-After."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")  # noqa: S310 - the test's own intake
    request.add_header("Content-Type", "application/json")
    if body is not None:
        # The challenge in its header too (docs/intake-api.md): checked before the body.
        request.add_header(CHALLENGE_HEADER, str(body["pow"]["challenge"]))  # type: ignore[index]
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310
            status, text, retry_after = (
                answer.status,
                answer.read(),
                answer.headers.get("Retry-After"),
            )
    except urllib.error.HTTPError as failure:
        with failure:
            status, text = failure.code, failure.read()
            retry_after = failure.headers.get("Retry-After")
    elapsed = time.monotonic() - started
    stream.record(status, elapsed, retry_after)
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = {}
    return status, parsed if isinstance(parsed, dict) else {}, float(retry_after or 1)


def submit_until_accepted(
    base: str, envelope: bytes, stream: Stream, stop: threading.Event
) -> None:
    """Post `envelope` with a solved challenge until the intake accepts it (or `stop` is set)."""
    labels = inspect(envelope).labels
    while not stop.is_set():
        status, challenge, wait = http(f"{base}/v1/challenge", None, stream)
        if status != 200:
            time.sleep(min(wait, 1.0))
            continue
        nonce = solve(
            str(challenge["token"]),
            hashlib.sha256(envelope).digest(),
            int(str(challenge["difficulty"])),
        )
        body = {
            "routing": labels.__dict__,
            "envelope": base64.b64encode(envelope).decode(),
            "pow": {"challenge": challenge["token"], "nonce": nonce},
        }
        status, answer, wait = http(f"{base}/v1/requests", body, stream)
        if status == 202:
            assert answer["id"] == digest(envelope)
            with stream.lock:
                stream.accepted.add(digest(envelope))
            return
        # 503: the broker is away or alarmed; the same envelope again after Retry-After.
        time.sleep(min(wait, 1.0))
