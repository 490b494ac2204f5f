"""`haven submit` against a real intake: a challenge refused while solving is replaced, not fatal."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pika.adapters.blocking_connection import BlockingChannel
from werkzeug.serving import make_server

from haven.broker import ConfirmedPublisher
from haven.cli.intake_client import POW_RETRIES
from haven.envelope import PrivateKey, digest
from intake import IntakeSettings, create_app
from tests.intake.conftest import FakeClock, drain, sealed
from tests.repo import REPO

pytestmark = pytest.mark.broker


class ExpiresWhileSolving:
    """The intake's clock jumps past the challenge's lifetime before the next `times` submissions.

    What a requester on a slow machine meets: the challenge expired while it
    was solving (the same answer path as one priced before the load rose).
    """

    def __init__(self, app: Any, clock: FakeClock, lifetime: int, times: int) -> None:
        self.app, self.clock, self.lifetime, self.times = app, clock, lifetime, times
        self.submissions = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ["REQUEST_METHOD"] == "POST" and environ["PATH_INFO"] == "/v1/requests":
            self.submissions += 1
            if self.times > 0:
                self.times -= 1
                self.clock.advance(self.lifetime + 1)
        return self.app(environ, start_response)  # type: ignore[no-any-return]


@pytest.fixture
def serve(
    make_settings: Callable[..., IntakeSettings], publisher: ConfirmedPublisher, clock: FakeClock
) -> Iterator[Callable[[int], tuple[str, ExpiresWhileSolving]]]:
    servers = []

    def start(expiring: int) -> tuple[str, ExpiresWhileSolving]:
        settings = make_settings(pow_min_bits=8, pow_max_bits=8)
        app = create_app(settings, publisher=publisher, clock=clock)
        wrapped = ExpiresWhileSolving(app, clock, settings.challenge_lifetime, expiring)
        server = make_server("127.0.0.1", 0, wrapped, threaded=True)
        server.daemon_threads = False  # server_close() joins them
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        servers.append((server, thread))
        return f"http://127.0.0.1:{server.server_port}", wrapped

    yield start
    for server, thread in servers:
        server.shutdown()
        thread.join(10)
        server.server_close()


def haven_submit(envelope: bytes, url: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "request.haven"
    path.write_bytes(envelope)
    return subprocess.run(
        [sys.executable, "-m", "haven.cli.main", "submit", str(path), "--url", url],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_challenge_expired_while_solving_is_replaced(
    serve: Callable[[int], tuple[str, ExpiresWhileSolving]],
    partners: dict[str, PrivateKey],
    channel: BlockingChannel,
    tmp_path: Path,
) -> None:
    url, intake = serve(POW_RETRIES)
    envelope = sealed(partners)
    done = haven_submit(envelope, url, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"queued: {digest(envelope)}"
    assert intake.submissions == POW_RETRIES + 1
    assert [body for _, body in drain(channel)] == [envelope]


def test_refused_every_time_is_one_line_and_a_failure(
    serve: Callable[[int], tuple[str, ExpiresWhileSolving]],
    partners: dict[str, PrivateKey],
    channel: BlockingChannel,
    tmp_path: Path,
) -> None:
    url, intake = serve(POW_RETRIES + 10)
    done = haven_submit(sealed(partners), url, tmp_path)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("haven: error: ")
    assert "pow_expired" in lines[0] and "try again" in lines[0]
    assert "Traceback" not in done.stderr
    assert intake.submissions == POW_RETRIES + 1  # bounded, like the web form's
    assert drain(channel) == []
