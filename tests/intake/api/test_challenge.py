"""GET /v1/challenge: stateless, uncached, and harder as requests wait in the queue."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from pika.adapters.blocking_connection import BlockingChannel

from haven.broker import ConfirmedPublisher
from haven.broker.publisher import DEPTH_POLL_SECONDS
from intake import IntakeSettings, create_app
from intake.guards.pow import ALGORITHM
from tests.intake.conftest import TEST_BITS, FakeClock, ops_of
from tests.worker.conftest import wait_until

pytestmark = pytest.mark.broker


def test_challenge_answer(client: FlaskClient, clock: FakeClock) -> None:
    response = client.get("/v1/challenge")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert set(body) == {"token", "difficulty", "expires_at", "algorithm"}
    assert body["difficulty"] == TEST_BITS
    assert body["expires_at"] == int(clock.now) + 300
    assert body["algorithm"] == ALGORITHM
    assert len(body["token"]) == 88
    # Stateless, yet never the same twice.
    assert client.get("/v1/challenge").get_json()["token"] != body["token"]


def test_difficulty_rises_with_queue_depth(
    make_settings: Callable[..., IntakeSettings],
    publisher: ConfirmedPublisher,
    channel: BlockingChannel,
) -> None:
    settings = make_settings(pow_min_bits=8, pow_max_bits=10, pow_depth_per_bit=3)
    client = create_app(settings, publisher=publisher).test_client()
    assert client.get("/v1/challenge").get_json()["difficulty"] == 8
    for n in range(7):
        publisher.publish(b"waiting %d" % n, message_id=f"{n:064x}")
    # The publisher's I/O thread polls the depth about once a second: wait
    # (bounded) until it has seen all seven, then the difficulty is exact.
    wait_until(
        lambda: publisher.intake_depth() == 7,
        timeout=DEPTH_POLL_SECONDS * 10,
        what="the publisher to see 7 requests waiting",
    )
    assert client.get("/v1/challenge").get_json()["difficulty"] == 10  # 8 + 7 // 3, capped at 10
    metrics = ops_of(client).get("/metrics").get_data(as_text=True)
    assert "haven_intake_pow_difficulty_bits 10.0" in metrics
