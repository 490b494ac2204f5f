"""A broker that stops answering (alive, never confirming): the publisher still answers in bounded time.

A TCP forwarder on loopback (tests.forwarder) stands between the publisher
and the real broker and, on command, stops passing the broker's bytes
back: the connection stays open, heartbeats and confirms never arrive.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from haven.broker import BrokerSettings, BrokerUnavailable, ConfirmedPublisher, declare_topology
from tests.forwarder import Forwarder

pytestmark = pytest.mark.broker


@pytest.fixture
def proxy() -> Iterator[Forwarder]:
    proxy = Forwarder()
    yield proxy
    proxy.kill()


def test_publish_answers_within_its_timeout_when_confirms_never_come(
    broker_url: str, proxy: Forwarder
) -> None:
    declare_topology(BrokerSettings(urls=(broker_url,)))
    via_proxy = proxy.url(broker_url)
    publisher = ConfirmedPublisher(BrokerSettings(urls=(via_proxy,), publish_timeout=1.0))
    try:
        publisher.publish(b"before the stall", message_id="before")
        proxy.stalled.set()
        started = time.monotonic()
        with pytest.raises(BrokerUnavailable) as refused:
            publisher.publish(b"during the stall", message_id="during")
        elapsed = time.monotonic() - started
        assert refused.value.reason == "timeout"
        assert elapsed < 2.0, f"took {elapsed:.1f}s against a 1.0s bound"
    finally:
        proxy.stalled.clear()
        publisher.close()
