"""Replays, stale tokens and the order of the proof-of-work checks, against the real broker.

What reached the broker is read back from the intake queue; the queue's
depth, which sets the difficulty, is raised by publishing real messages.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pika
import pytest
from flask.testing import FlaskClient
from pika.adapters.blocking_connection import BlockingChannel

from haven.broker import BrokerUnavailable, ConfirmedPublisher, declare_topology
from haven.envelope import PrivateKey
from intake import IntakeSettings, create_app
from intake.api import envelopes as intake_api
from intake.guards.pow import CHALLENGE_HEADER, DIFFICULTY_SLACK
from intake.guards.replay import RecentRequests
from tests.intake.conftest import FakeClock, drain, paid, sealed, submission

pytestmark = pytest.mark.broker


def post(client: FlaskClient, body: dict[str, Any]) -> Any:
    return client.post(
        "/v1/requests", data=json.dumps(body), content_type="application/json", headers=paid(body)
    )


def wait_for_depth(publisher: ConfirmedPublisher, wanted: int, seconds: float = 6.0) -> None:
    """The publisher's I/O thread polls the intake queue's depth about once a second."""
    deadline = time.monotonic() + seconds
    while publisher.intake_depth() != wanted and time.monotonic() < deadline:
        time.sleep(0.1)
    assert publisher.intake_depth() == wanted


@pytest.fixture
def own_vhost(
    make_settings: Callable[..., IntakeSettings], fresh_broker_url: str
) -> Iterator[tuple[IntakeSettings, ConfirmedPublisher, BlockingChannel]]:
    """A vhost of this test's own: its queue depth is this test's alone."""
    settings = make_settings()
    settings = dataclasses.replace(
        settings, broker=dataclasses.replace(settings.broker, urls=(fresh_broker_url,))
    )
    # As `haven provision` does: the intake only checks the topology.
    declare_topology(settings.broker)
    publisher = ConfirmedPublisher(settings.broker)
    assert publisher.ready()
    connection = pika.BlockingConnection(pika.URLParameters(fresh_broker_url))
    yield settings, publisher, connection.channel()
    connection.close()
    publisher.close()


# --- RecentRequests on its own -------------------------------------------------------


def test_recent_requests_forget_after_the_window() -> None:
    clock = FakeClock()
    recent = RecentRequests(window=300, clock=clock)
    recent.add("a")
    clock.advance(299)
    assert "a" in recent
    # A repeat does not extend the window.
    recent.add("a")
    clock.advance(1)
    assert "a" not in recent
    assert len(recent) == 0


def test_recent_requests_are_bounded() -> None:
    clock = FakeClock()
    recent = RecentRequests(window=300, clock=clock, capacity=3)
    for name in "abcde":
        recent.add(name)
        clock.advance(1)
    assert len(recent) == 3
    assert "a" not in recent
    assert "b" not in recent
    assert all(name in recent for name in "cde")


def test_recent_requests_are_thread_safe() -> None:
    recent = RecentRequests(window=300, clock=FakeClock(), capacity=1000)
    start = threading.Barrier(8)

    def add(offset: int) -> None:
        start.wait()
        for n in range(500):
            recent.add(f"{offset}-{n}")
            assert f"{offset}-{n}" in recent

    threads = [threading.Thread(target=add, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(recent) == 1000


# --- Replays through the intake -------------------------------------------------------


def test_a_replayed_submission_is_answered_but_not_published_again(
    client: FlaskClient, channel: BlockingChannel, partners: dict[str, PrivateKey]
) -> None:
    envelope = sealed(partners)
    body = submission(client, envelope)
    request_id = hashlib.sha256(envelope).hexdigest()
    for _ in range(200):
        response = post(client, body)
        assert response.status_code == 202
        assert response.get_json() == {"id": request_id, "status": "queued"}
        assert response.headers["Cache-Control"] == "no-store"
    # A retry with a fresh challenge, solved again: the same request.
    assert post(client, submission(client, envelope)).status_code == 202
    queued = drain(channel)
    assert [(properties.message_id, body) for properties, body in queued] == [
        (request_id, envelope)
    ]


def test_after_the_window_the_replay_is_expired_and_a_new_payment_publishes(
    client: FlaskClient,
    channel: BlockingChannel,
    clock: FakeClock,
    settings: IntakeSettings,
    partners: dict[str, PrivateKey],
) -> None:
    envelope = sealed(partners)
    body = submission(client, envelope)
    assert post(client, body).status_code == 202
    clock.advance(settings.challenge_lifetime)
    # The cache has forgotten it, and the challenge that paid for it is dead.
    replay = post(client, body)
    assert replay.status_code == 403
    assert replay.get_json()["error"]["code"] == "pow_expired"
    # New work buys a new publish (the worker drops it as a duplicate by id).
    assert post(client, submission(client, envelope)).status_code == 202
    assert [queued for _, queued in drain(channel)] == [envelope, envelope]


def test_a_refused_publish_is_not_remembered(
    make_settings: Callable[..., IntakeSettings],
    fresh_broker_url: str,
    clock: FakeClock,
    partners: dict[str, PrivateKey],
) -> None:
    # A real refusal: the intake queue of this vhost is full (reject-publish).
    settings = make_settings()
    broker = dataclasses.replace(settings.broker, urls=(fresh_broker_url,), intake_max_length=1)
    declare_topology(broker)  # as `haven provision` does
    publisher = ConfirmedPublisher(broker)
    connection = pika.BlockingConnection(pika.URLParameters(fresh_broker_url))
    try:
        client = create_app(
            dataclasses.replace(settings, broker=broker), publisher=publisher, clock=clock
        ).test_client()
        filler = 0
        while True:
            try:
                publisher.publish(b"filler", message_id=f"filler-{filler}")
                filler += 1
            except BrokerUnavailable:  # until the queue says it is full
                break
        envelope = sealed(partners)
        body = submission(client, envelope)
        refused = post(client, body)
        assert refused.status_code == 503
        assert int(refused.headers["Retry-After"]) >= 1
        drain(connection.channel())
        assert post(client, body).status_code == 202
        assert [queued for _, queued in drain(connection.channel())] == [envelope]
    finally:
        connection.close()
        publisher.close()


# --- Tokens issued before the load rose ----------------------------------------------


def _load_client(
    settings: IntakeSettings, publisher: ConfirmedPublisher, clock: FakeClock
) -> FlaskClient:
    loaded = dataclasses.replace(settings, pow_min_bits=4, pow_max_bits=12, pow_depth_per_bit=10)
    return create_app(loaded, publisher=publisher, clock=clock).test_client()


def _raise_depth(publisher: ConfirmedPublisher, count: int) -> None:
    for index in range(count):
        publisher.publish(b"waiting", message_id=f"waiting-{index}")
    wait_for_depth(publisher, count)


def test_a_token_far_below_the_current_difficulty_is_refused(
    own_vhost: tuple[IntakeSettings, ConfirmedPublisher, BlockingChannel],
    clock: FakeClock,
    partners: dict[str, PrivateKey],
) -> None:
    settings, publisher, channel = own_vhost
    client = _load_client(settings, publisher, clock)
    body = submission(client, sealed(partners))
    assert client.get("/v1/challenge").get_json()["difficulty"] == 4
    # The queue grows: challenges now ask for 4 + 30 // 10 = 7 bits.
    _raise_depth(publisher, 30)
    assert client.get("/v1/challenge").get_json()["difficulty"] == 7
    assert 7 - DIFFICULTY_SLACK > 4
    response = post(client, body)
    assert response.status_code == 403
    error = response.get_json()["error"]
    assert (error["code"], error["field"]) == ("pow_insufficient", CHALLENGE_HEADER)
    assert "fetch a new one" in error["message"]
    assert len(drain(channel)) == 30


def test_a_token_within_the_slack_is_accepted(
    own_vhost: tuple[IntakeSettings, ConfirmedPublisher, BlockingChannel],
    clock: FakeClock,
    partners: dict[str, PrivateKey],
) -> None:
    settings, publisher, channel = own_vhost
    client = _load_client(settings, publisher, clock)
    body = submission(client, sealed(partners))
    # 4 + 10 // 10 = 5 bits now: a 4-bit token is within the 1-bit slack.
    _raise_depth(publisher, 10)
    assert post(client, body).status_code == 202
    assert len(drain(channel)) == 11


# --- The token is judged before the envelope is hashed -------------------------------


def test_the_token_is_checked_before_the_envelope_is_hashed(
    client: FlaskClient,
    clock: FakeClock,
    partners: dict[str, PrivateKey],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hashed: list[int] = []
    real_digest = intake_api.digest

    def counting_digest(envelope: bytes) -> str:
        hashed.append(len(envelope))
        return real_digest(envelope)

    monkeypatch.setattr(intake_api, "digest", counting_digest)
    body = submission(client, sealed(partners))
    forged = json.loads(json.dumps(body))
    forged["pow"]["challenge"] = "A" * 88
    assert post(client, forged).get_json()["error"]["code"] == "pow_invalid"
    assert hashed == []
    clock.advance(300)
    assert post(client, body).get_json()["error"]["code"] == "pow_expired"
    assert hashed == []
    clock.advance(-300)
    assert post(client, body).status_code == 202
    assert len(hashed) == 1
