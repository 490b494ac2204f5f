"""The intake under a real gunicorn: what only the server's own body reader can raise."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.intake.conftest import NetworkFiles, running_gunicorn

pytestmark = pytest.mark.broker

CANARY = "CANARY-c4a1"


@pytest.fixture
def gunicorn(files: NetworkFiles, intake_broker_url: str) -> Iterator[tuple[str, Any]]:
    with running_gunicorn(files, intake_broker_url) as running:
        yield running


def exchange(base: str, raw: bytes) -> bytes:
    """Send `raw` on a fresh connection; everything the server answers until it closes."""
    host, port = base.removeprefix("http://").split(":")
    answer = b""
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(raw)
        connection.shutdown(socket.SHUT_WR)
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize(
    "body",
    [
        # InvalidChunkSize: not hex.
        f"{CANARY}\r\n{{}}\r\n0\r\n\r\n".encode(),
        # ChunkMissingTerminator: two bytes promised, more sent with no CRLF.
        f"2\r\n{{}}{CANARY}0\r\n\r\n".encode(),
        # InvalidChunkExtension: not a token after the semicolon.
        f"2;@{CANARY}@\r\n{{}}\r\n0\r\n\r\n".encode(),
        # The body ends before its chunk does (NoMoreData, an OSError).
        b"10\r\n{}",
    ],
    ids=["size", "terminator", "extension", "truncated"],
)
def test_malformed_chunked_body_is_a_bad_request(
    gunicorn: tuple[str, subprocess.Popen[bytes]], body: bytes
) -> None:
    base, process = gunicorn
    # Paid for: only a request whose challenge holds has its body read.
    with urllib.request.urlopen(f"{base}/v1/challenge", timeout=10) as answer:  # noqa: S310
        token = json.load(answer)["token"].encode()
    head = (
        b"POST /v1/requests HTTP/1.1\r\nHost: intake\r\n"
        b"Haven-Pow-Challenge: " + token + b"\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    answer = exchange(base, head + body)
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.split(b" ")[:2] == [b"HTTP/1.1", b"400"], answer[:300]
    head_lines, _, payload = rest.partition(b"\r\n\r\n")
    headers = dict(line.split(b": ", 1) for line in head_lines.split(b"\r\n"))
    # The intake's own answer (its JSON, its headers), not gunicorn's page
    # and never a 500: the client broke the body, nothing broke in the intake.
    assert headers[b"Cache-Control"] == b"no-store"
    length = int(headers[b"Content-Length"])
    assert json.loads(payload[:length])["error"]["code"] == "bad_request"
    # Where the next request would start is unknown: the connection is
    # closed, with no second answer (gunicorn's own error page) behind ours.
    assert payload[length:] == b""
    assert CANARY.encode() not in answer
    process.terminate()
    out, err = process.communicate(timeout=30)
    logged = (out + err).decode("utf-8", "replace")
    assert "internal error" not in logged
    assert CANARY not in logged


def test_silent_half_requests_cannot_take_every_thread(
    files: NetworkFiles, intake_broker_url: str
) -> None:
    """Slowloris: more half-sent requests than threads, then a real request still gets an answer."""
    with running_gunicorn(files, intake_broker_url, HAVEN_THREADS="2", HAVEN_READ_TIMEOUT="1") as (
        base,
        _,
    ):
        port = int(base.rsplit(":", 1)[1])
        stalled = []
        for _ in range(6):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(b"GET /v1/challenge HTTP/1.1\r\nHost: x\r\n")
            stalled.append(sock)
        try:
            started = time.monotonic()
            with urllib.request.urlopen(f"{base}/v1/challenge", timeout=15) as answer:  # noqa: S310 - our own server
                assert answer.status == 200
            assert time.monotonic() - started < 10
        finally:
            for sock in stalled:
                sock.close()


@pytest.mark.parametrize("token", [None, b"A" * 88], ids=["missing", "forged"])
def test_a_refusal_before_the_body_closes_the_connection(
    gunicorn: tuple[str, subprocess.Popen[bytes]], token: bytes | None
) -> None:
    """An unpaid request's body is never read, and the server must not read it either.

    On a kept-alive connection gunicorn would drain the unread body (however
    long it says it is) before the next request: the intake answers
    `Connection: close` instead, and the connection ends with the answer.
    """
    base, _ = gunicorn
    host, port = base.removeprefix("http://").split(":")
    head = b"POST /v1/requests HTTP/1.1\r\nHost: intake\r\nConnection: keep-alive\r\n"
    if token is not None:
        head += b"Haven-Pow-Challenge: " + token + b"\r\n"
    head += b"Content-Type: application/json\r\nContent-Length: 100000000\r\n\r\n"
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(head + b"{" * 1000)  # a start of the body, the rest never sent
        connection.settimeout(3)  # under gunicorn's 5 s drain: a drain would time this out
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.split(b" ")[:2] == [b"HTTP/1.1", b"403"], answer[:300]
    head_lines = rest.partition(b"\r\n\r\n")[0].split(b"\r\n")
    headers = {k.lower(): v for k, v in (line.split(b": ", 1) for line in head_lines)}
    assert headers[b"connection"] == b"close"
