"""The broker stops mid-run: the intake answers 503 with Retry-After in bounded time, then recovers.

This stops the whole broker application (rabbitmqctl stop_app), so it runs
in CI, alone on its machine, and should not run beside another test run.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pika
import pytest
from flask.testing import FlaskClient

from haven.envelope import PrivateKey, digest
from intake import IntakeSettings
from tests.conftest import rabbitmqctl
from tests.intake.conftest import drain, ops_of, post_submission, sealed, submission

pytestmark = [pytest.mark.broker, pytest.mark.disruptive]


@pytest.fixture
def broker_comes_back() -> Iterator[None]:
    yield
    rabbitmqctl("start_app")
    rabbitmqctl("await_startup")


def _queued(broker_url: str) -> set[bytes]:
    """What the intake queue holds, read on a connection opened now (the old ones died with the broker)."""
    connection = pika.BlockingConnection(pika.URLParameters(broker_url))
    try:
        return {body for _, body in drain(connection.channel())}
    finally:
        connection.close()


def test_broker_stopped_then_restarted(
    client: FlaskClient,
    intake_broker_url: str,
    partners: dict[str, PrivateKey],
    settings: IntakeSettings,
    broker_comes_back: None,
) -> None:
    _queued(intake_broker_url)
    first = sealed(partners)
    assert post_submission(client, submission(client, first)).status_code == 202

    # The challenge is fetched and solved before the outage: what fails is
    # the publish, not the proof of work.
    during = sealed(partners)
    body = submission(client, during)
    rabbitmqctl("stop_app")
    started = time.monotonic()
    response = post_submission(client, body)
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) >= 1
    assert response.get_json()["error"]["code"]
    bound = settings.broker.publish_timeout + settings.broker.connect_timeout + 2
    assert elapsed < bound, f"503 took {elapsed:.1f}s, bound {bound:.1f}s"
    assert ops_of(client).get("/readyz").status_code == 503

    rabbitmqctl("start_app")
    rabbitmqctl("await_startup")
    after = sealed(partners)
    deadline = time.monotonic() + 30
    while True:
        response = post_submission(client, submission(client, after))
        if response.status_code == 202 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert response.status_code == 202
    assert response.get_json()["id"] == digest(after)
    # What the broker confirmed before the outage is still there, and the
    # request refused during it was never half-accepted.
    queued = _queued(intake_broker_url)
    assert first in queued
    assert after in queued
    assert during not in queued
    assert ops_of(client).get("/readyz").status_code == 200
