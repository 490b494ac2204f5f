"""The broker goes away or raises an alarm: the publisher answers within its bound, then recovers.

These stop the broker application or lower its memory watermark for the
whole node, so they run in CI (alone on its machine) and should not be run
beside another test run.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from pika.adapters.blocking_connection import BlockingChannel

from haven.broker import INTAKE_QUEUE, BrokerUnavailable, ConfirmedPublisher
from tests.conftest import rabbitmqctl
from tests.haven.broker.conftest import drain

pytestmark = [pytest.mark.broker, pytest.mark.disruptive]


@pytest.fixture
def broker_restarts() -> Iterator[None]:
    yield
    rabbitmqctl("start_app")
    rabbitmqctl("await_startup")


def test_broker_stopped_then_started(
    publisher: ConfirmedPublisher, broker_restarts: None, broker_url: str
) -> None:
    publisher.publish(b"before", message_id="before")
    rabbitmqctl("stop_app")
    started = time.monotonic()
    with pytest.raises(BrokerUnavailable) as refused:
        publisher.publish(b"during", message_id="during")
    assert refused.value.reason == "down"
    assert (
        time.monotonic() - started
        < publisher.settings.publish_timeout + publisher.settings.connect_timeout + 2
    )
    rabbitmqctl("start_app")
    rabbitmqctl("await_startup")
    deadline = time.monotonic() + 30
    while True:
        try:
            publisher.publish(b"after", message_id="after")
            break
        except BrokerUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


@pytest.fixture
def memory_alarm() -> Iterator[None]:
    original = rabbitmqctl("eval", "vm_memory_monitor:get_vm_memory_high_watermark().").strip()
    rabbitmqctl("set_vm_memory_high_watermark", "0.0000001")
    try:
        yield
    finally:
        rabbitmqctl("set_vm_memory_high_watermark", original if original[:1].isdigit() else "0.4")


def test_memory_alarm_answers_within_the_bound(
    publisher: ConfirmedPublisher, channel: BlockingChannel, memory_alarm: None
) -> None:
    drain(channel, INTAKE_QUEUE)
    # The alarm reaches the publisher's connection as connection.blocked,
    # perhaps only once it publishes: until then an attempt may time out
    # within its bound. Once blocked, the publisher must say so at once,
    # never hold a requester for the whole publish timeout.
    deadline = time.monotonic() + 30
    while True:
        started = time.monotonic()
        with pytest.raises(BrokerUnavailable) as refused:
            publisher.publish(b"during alarm", message_id="alarm")
        elapsed = time.monotonic() - started
        if refused.value.reason == "blocked":
            break
        assert refused.value.reason == "timeout", refused.value.reason
        assert elapsed < publisher.settings.publish_timeout + 2
        assert time.monotonic() < deadline, "the publisher never reported the alarm as blocked"
    assert elapsed < 1.0, f"a blocked broker was answered after {elapsed:.1f}s, not at once"
