"""A broker that stops answering (alive, never confirming): the publisher still answers in bounded time.

A TCP proxy on loopback stands between the publisher and the real broker
and, on command, stops passing the broker's bytes back: the connection
stays open, heartbeats and confirms simply never arrive.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

from haven.broker import BrokerSettings, BrokerUnavailable, ConfirmedPublisher, declare_topology
from tests.conftest import BROKER_HOST, BROKER_PORT

pytestmark = pytest.mark.broker


class StallingProxy:
    def __init__(self) -> None:
        self.stalled = threading.Event()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._sockets: list[socket.socket] = [self._server]
        self._closing = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection((BROKER_HOST, BROKER_PORT))
            self._sockets += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, True), daemon=True).start()

    def _pipe(self, source: socket.socket, target: socket.socket, from_broker: bool) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                while from_broker and self.stalled.is_set() and not self._closing.is_set():
                    time.sleep(0.05)
                target.sendall(data)

    def close(self) -> None:
        self._closing.set()
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.close()


@pytest.fixture
def proxy() -> Iterator[StallingProxy]:
    proxy = StallingProxy()
    yield proxy
    proxy.close()


def test_publish_answers_within_its_timeout_when_confirms_never_come(
    broker_url: str, proxy: StallingProxy
) -> None:
    declare_topology(BrokerSettings(urls=(broker_url,)))
    parts = urlsplit(broker_url)
    via_proxy = urlunsplit(parts._replace(netloc=f"guest:guest@127.0.0.1:{proxy.port}"))
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
