"""GET /v1/challenge: stateless, uncached, and harder as requests wait in the queue."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from pika.adapters.blocking_connection import BlockingChannel
from sqlalchemy import delete, update

from haven.broker import ConfirmedPublisher
from haven.broker.publisher import DEPTH_POLL_SECONDS
from haven.envelope import PrivateKey
from haven.store import Store
from haven.store.schema import acceptances
from intake import IntakeSettings, create_app
from intake.guards.pow import ALGORITHM
from intake.load import SYNC_SECONDS, WINDOW_SECONDS
from tests.intake.conftest import (
    TEST_BITS,
    FakeClock,
    drain,
    ops_of,
    post_submission,
    sealed,
    submission,
)
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
        lambda: publisher.backlog() == 7,
        timeout=DEPTH_POLL_SECONDS * 10,
        what="the publisher to see 7 requests waiting",
    )
    assert client.get("/v1/challenge").get_json()["difficulty"] == 10  # 8 + 7 // 3, capped at 10
    metrics = ops_of(client).get("/metrics").get_data(as_text=True)
    assert "haven_intake_pow_difficulty_bits 10.0" in metrics


def test_a_burst_of_acceptances_raises_the_next_challenge_everywhere(
    *,
    make_settings: Callable[..., IntakeSettings],
    publisher: ConfirmedPublisher,
    store: Store,
    clock: FakeClock,
    channel: BlockingChannel,
    partners: dict[str, PrivateKey],
) -> None:
    """The review's flood: every request solved at the floor and accepted, the queue emptied at once.

    The depth alone never saw it; the deployment's acceptance rate does, in
    every instance, and forgets it a minute after the flood stops.
    """
    with store.begin() as connection:
        connection.execute(delete(acceptances))  # other tests' acceptances of this run
    settings = make_settings(pow_min_bits=8, pow_max_bits=12, pow_baseline_per_minute=4)
    first = create_app(settings, publisher=publisher, store=store, clock=clock).test_client()
    # A second instance of the same deployment (another worker or replica): its own memory, the same store.
    second = create_app(settings, publisher=publisher, store=store, clock=clock).test_client()
    assert first.get("/v1/challenge").get_json()["difficulty"] == 8
    assert second.get("/v1/challenge").get_json()["difficulty"] == 8
    for _ in range(16):
        assert post_submission(first, submission(first, sealed(partners))).status_code == 202
        # The routers take each request at once: the intake queue stays empty.
        drain(channel)
    # This instance counts its own at once: 16 a minute is 4 times the baseline, 2 bits.
    assert first.get("/v1/challenge").get_json()["difficulty"] == 10
    # The other sees them once both have synced with the store.
    clock.advance(SYNC_SECONDS)
    assert first.get("/v1/challenge").get_json()["difficulty"] == 10
    clock.advance(SYNC_SECONDS)
    assert second.get("/v1/challenge").get_json()["difficulty"] == 10
    # A minute after the flood stopped (on the instances' clocks and the
    # database's, which keeps the window), both are back at the floor.
    with store.begin() as connection:
        connection.execute(update(acceptances).values(at=acceptances.c.at - WINDOW_SECONDS - 1))
    clock.advance(WINDOW_SECONDS)
    assert second.get("/v1/challenge").get_json()["difficulty"] == 8
    clock.advance(SYNC_SECONDS)
    assert first.get("/v1/challenge").get_json()["difficulty"] == 8
