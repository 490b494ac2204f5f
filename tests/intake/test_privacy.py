"""No log line knows who asked or what they sent: canaries through the app, gunicorn and Werkzeug.

Each test sends a canary string wherever a client can put text (routing
values, unknown fields, headers, the path, the query) and a forwarded
address, then searches everything that was logged.
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import signal
import socket
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pika.adapters.blocking_connection import BlockingChannel
from werkzeug.serving import make_server

from haven.envelope import PrivateKey
from intake.guards.pow import CHALLENGE_HEADER
from intake.serving.serve import QuietRequestHandler
from tests.intake.conftest import (
    ROUTING,
    NetworkFiles,
    drain,
    ops_of,
    paid,
    running_gunicorn,
    sealed,
    solve,
    submission,
)

pytestmark = pytest.mark.broker

CANARY = "CANARY-7d1e"
ADDRESS = "203.0.113.77"
CANARY_HEADERS = {
    "User-Agent": f"{CANARY}-UA-Mozilla/5.0",
    "X-Forwarded-For": ADDRESS,
    "X-Real-IP": ADDRESS,
    "Forwarded": f"for={ADDRESS}",
    "Referer": f"https://{CANARY}.example/",
    "X-Canary": CANARY,
}


def canary_bodies(valid: dict[str, Any]) -> list[bytes]:
    """Bodies that carry the canary in every place a client can write."""
    return [
        json.dumps({**valid, "routing": {**valid["routing"], "region": CANARY}}).encode(),
        json.dumps({**valid, CANARY.lower(): CANARY}).encode(),
        json.dumps({**valid, CANARY: CANARY}).encode(),
        json.dumps({**valid, "envelope": CANARY}).encode(),
        json.dumps({**valid, "pow": {"challenge": CANARY, "nonce": CANARY}}).encode(),
        f'{{"routing": "{CANARY}'.encode(),
        json.dumps(
            {**valid, "envelope": base64.b64encode(CANARY.encode() * 500).decode()}
        ).encode(),
    ]


def test_nothing_the_client_sent_reaches_a_log_record(
    client: FlaskClient,
    channel: BlockingChannel,
    partners: dict[str, PrivateKey],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    valid = submission(client, sealed(partners))
    for body in canary_bodies(valid):
        response = client.post(
            f"/v1/requests?{CANARY}=1",
            data=body,
            content_type="application/json",
            # Paid: every body is read and checked, so every check's errors are searched.
            headers={**CANARY_HEADERS, **paid(valid)},
            environ_base={"REMOTE_ADDR": ADDRESS},
        )
        assert 400 <= response.status_code < 500
    accepted = client.post(
        "/v1/requests",
        json=valid,
        headers={**CANARY_HEADERS, **paid(valid)},
        environ_base={"REMOTE_ADDR": ADDRESS},
    )
    assert accepted.status_code == 202
    client.get(f"/{CANARY}", headers=CANARY_HEADERS, environ_base={"REMOTE_ADDR": ADDRESS})
    ops_of(client).get("/metrics")
    logged = "\n".join(
        f"{r.name} {r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in caplog.records
    )
    assert CANARY not in logged
    assert CANARY.lower() not in logged
    assert ADDRESS not in logged
    assert valid["envelope"][:40] not in logged
    assert drain(channel)


def test_an_internal_fault_is_logged_without_request_data(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    @app.get("/v1/fault")
    def fault() -> str:
        raise KeyError(f"{CANARY} from the request")

    caplog.set_level(logging.DEBUG)
    response = app.test_client().get(f"/v1/fault?q={CANARY}", headers=CANARY_HEADERS)
    assert response.status_code == 500
    assert response.get_json() == {"error": {"code": "internal", "message": "internal error"}}
    assert CANARY not in response.get_data(as_text=True)
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert "internal error KeyError at" in logged
    assert CANARY not in logged


@pytest.fixture
def gunicorn(files: NetworkFiles, intake_broker_url: str) -> Iterator[tuple[str, Any]]:
    """A real gunicorn, with the package's gunicorn settings (intake.serving.gunicorn_conf), serving the intake."""
    with running_gunicorn(files, intake_broker_url) as running:
        yield running


def call(base: str, path: str, body: bytes | None = None, **headers: str) -> tuple[int, Any]:
    # http:// to a server the test started, never a file: or other scheme
    request = urllib.request.Request(  # noqa: S310
        f"{base}{path}",
        data=body,
        headers={"Content-Type": "application/json", **CANARY_HEADERS, **headers},
        method="POST" if body is not None else "GET",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return answer.status, _body(answer)
    except urllib.error.HTTPError as refused:
        with refused:
            return refused.code, _body(refused)


def _body(answer: Any) -> Any:
    """JSON from the API; the requester's pages (a 404 outside /v1/, say) answer HTML."""
    data = answer.read()
    if answer.headers.get_content_type() == "application/json":
        return json.loads(data)
    return data.decode()


def test_gunicorn_logs_no_request_data(
    gunicorn: tuple[str, subprocess.Popen[bytes]],
    channel: BlockingChannel,
    partners: dict[str, PrivateKey],
) -> None:
    base, process = gunicorn
    status, challenge = call(base, "/v1/challenge")
    assert status == 200
    envelope = sealed(partners)
    valid = {
        "routing": ROUTING,
        "envelope": base64.b64encode(envelope).decode(),
        "pow": {
            "challenge": challenge["token"],
            "nonce": solve(challenge["token"], envelope, challenge["difficulty"]),
        },
    }
    for body in canary_bodies(valid):
        status, answer = call(base, f"/v1/requests?{CANARY}=1", body, **paid(valid))
        assert 400 <= status < 500, answer
    status, answer = call(base, "/v1/requests", json.dumps(valid).encode(), **paid(valid))
    assert status == 202, answer
    assert call(base, f"/{CANARY}")[0] == 404
    # Requests gunicorn itself refuses, before the app: a bad request line
    # and an oversized header. gunicorn would log both with the address.
    host, port = base.removeprefix("http://").split(":")
    for raw in (
        f"GET /{CANARY} HTTP/1.1 {CANARY}\r\n\r\n".encode(),
        f"GET / HTTP/1.1\r\nHost: x\r\nX-Canary: {CANARY * 2000}\r\n\r\n".encode(),
    ):
        with socket.create_connection((host, int(port)), timeout=5) as raw_socket:
            raw_socket.sendall(raw)
            assert raw_socket.recv(100).startswith(b"HTTP/1.1 4")
    # A chunked body over the limit: refused while it is read (413).
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.putrequest("POST", "/v1/requests")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Transfer-Encoding", "chunked")
    connection.putheader(CHALLENGE_HEADER, challenge["token"])
    connection.endheaders()
    chunk = b"A" * 65536
    try:
        for _ in range(4):
            connection.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        connection.send(b"0\r\n\r\n")
        assert connection.getresponse().status == 413
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server may close before the client has sent everything
    finally:
        connection.close()
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    logged = (out + err).decode("utf-8", "replace")
    assert "Listening at" in logged  # the log is there, and it is being read
    assert "invalid HTTP request refused" in logged
    assert CANARY not in logged
    assert CANARY.lower() not in logged
    assert ADDRESS not in logged
    assert "Mozilla" not in logged
    # The client's own address (127.0.0.1) appears only in the listening line.
    assert [line for line in logged.splitlines() if "127.0.0.1" in line] == [
        line for line in logged.splitlines() if "Listening at" in line
    ]
    assert drain(channel)


def test_local_server_writes_no_request_log(
    app: Flask, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.port}"
        status, challenge = call(base, "/v1/challenge")
        assert status == 200
        assert call(base, f"/{CANARY}")[0] == 404
        token = {CHALLENGE_HEADER: challenge["token"]}
        assert call(base, "/v1/requests", CANARY.encode(), **token)[0] == 400
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
    out, err = capfd.readouterr()
    # pika's own records name the broker's address (127.0.0.1 here, like the
    # client's): they are about the intake's connection, never a requester's.
    records = [r.getMessage() for r in caplog.records if r.name.split(".")[0] != "pika"]
    logged = out + err + "\n".join(records)
    assert CANARY not in logged
    assert "127.0.0.1" not in logged
    assert ADDRESS not in logged


def test_debug_log_level_is_clamped_to_info(
    files: NetworkFiles, intake_broker_url: str, partners: dict[str, PrivateKey]
) -> None:
    # An operator's --log-level debug: gunicorn would log the bytes of a
    # request the client abandons ("No more data after: b'…'") and more.
    with running_gunicorn(files, intake_broker_url, GUNICORN_CMD_ARGS="--log-level debug") as (
        base,
        process,
    ):
        assert call(base, f"/{CANARY}")[0] == 404
        host, port = base.removeprefix("http://").split(":")
        for raw in (
            # Headers cut off before their end: a premature disconnection.
            f"GET /{CANARY} HTTP/1.1\r\nHost: x\r\nUser-Agent: {CANARY}\r\n".encode(),
            f"POST /v1/requests HTTP/1.1\r\nHost: x\r\nX-Canary: {CANARY}\r\n"
            "Content-Length: 100\r\n\r\n{".encode(),
        ):
            with socket.create_connection((host, int(port)), timeout=5) as raw_socket:
                raw_socket.sendall(raw)
                raw_socket.shutdown(socket.SHUT_WR)
                while raw_socket.recv(4096):
                    pass
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    logged = (out + err).decode("utf-8", "replace")
    assert "Listening at" in logged  # the log is there, and it is being read
    assert "[DEBUG]" not in logged
    assert CANARY not in logged
    assert ADDRESS not in logged
