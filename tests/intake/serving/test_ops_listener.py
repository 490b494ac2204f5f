"""/healthz, /readyz and /metrics answer on the operators' listener (HAVEN_OPS_BIND) and 404 on the public one.

An onion service publishes the intake's whole port and cannot filter
paths, and the accepted-requests counter by category is a timeline of who
asked for which help: so the public listener must not serve them at all,
under gunicorn as under the local server.
"""

from __future__ import annotations

import dataclasses
import json
import socket
import urllib.error
import urllib.request

import pytest
from flask import Flask

from intake import IntakeSettings, create_app
from intake.serving.ops_server import start_ops_server
from tests.intake.conftest import NetworkFiles, free_port, running_gunicorn

pytestmark = pytest.mark.broker

OPS_PATHS = ("/healthz", "/readyz", "/metrics")


def fetch(url: str) -> tuple[int, bytes]:
    # http:// to a server this test started, never a file: or other scheme
    request = urllib.request.Request(url)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310  # nosec B310
            return int(answer.status), answer.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read()


def test_gunicorn_serves_ops_only_on_the_ops_bind(
    files: NetworkFiles, intake_broker_url: str
) -> None:
    ops_port = free_port()
    with running_gunicorn(files, intake_broker_url, ops_port=ops_port) as (base, _):
        ops = f"http://127.0.0.1:{ops_port}"
        for path in OPS_PATHS:
            status, body = fetch(base + path)
            assert status == 404, path
            assert b"haven_intake" not in body
        status, document = fetch(f"{base}/v1/openapi.json")
        assert status == 200
        assert not set(OPS_PATHS) & set(json.loads(document)["paths"])
        assert fetch(f"{ops}/healthz") == (200, b'{"status":"alive"}\n')
        assert fetch(f"{ops}/readyz")[0] == 200
        # The counters of the very worker that serves the public listener.
        assert fetch(f"{base}/v1/challenge")[0] == 200
        status, metrics = fetch(f"{ops}/metrics")
        assert status == 200
        assert b'endpoint="api.challenge"' in metrics
        # The operators' listener serves nothing of the public app.
        assert fetch(f"{ops}/v1/challenge")[0] == 404
        assert fetch(f"{ops}/")[0] == 404


def test_local_server_ops_listener(settings: IntakeSettings, app: Flask) -> None:
    port = free_port()
    app = create_app(
        dataclasses.replace(settings, ops_bind=("127.0.0.1", port)),
        publisher=app.extensions["haven.intake"].publisher,
    )
    server = start_ops_server(app)
    try:
        assert fetch(f"http://127.0.0.1:{port}/healthz")[0] == 200
        assert fetch(f"http://127.0.0.1:{port}/metrics")[0] == 200
    finally:
        server.shutdown()
        server.server_close()


def test_an_ops_bind_in_use_stops_with_one_line(
    settings: IntakeSettings, app: Flask, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = create_app(
            dataclasses.replace(settings, ops_bind=("127.0.0.1", port)),
            publisher=app.extensions["haven.intake"].publisher,
        )
        with pytest.raises(SystemExit) as stopped:
            start_ops_server(busy)
    assert stopped.value.code == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"HAVEN_OPS_BIND 127.0.0.1:{port}" in err
