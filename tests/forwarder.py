"""A TCP forwarder on loopback in front of the real broker: one "node" of a cluster, for failover tests.

There is one RabbitMQ here; a forwarder per node gives each node its own
address. `kill()` is the node dying: the listener closes (new connections
are refused) and every live connection is cut. `stalled` is a node that
stays connected but stops answering (the broker's bytes are held back).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

from tests.conftest import BROKER_HOST, BROKER_PORT


class Forwarder:
    def __init__(self, host: str = BROKER_HOST, port: int = BROKER_PORT) -> None:
        self._upstream = (host, port)
        self.stalled = threading.Event()
        self.accepted = 0
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._server.getsockname()[1]
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._closing = threading.Event()
        threading.Thread(target=self._accept, name=f"forwarder-{self.port}", daemon=True).start()

    def url(self, broker_url: str) -> str:
        """`broker_url` (its user, password and vhost) through this forwarder."""
        parts = urlsplit(broker_url)
        user = parts.netloc.rpartition("@")[0]
        return urlunsplit(parts._replace(netloc=f"{user}@127.0.0.1:{self.port}"))

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self._upstream)
            except OSError:
                client.close()
                continue
            with self._lock:
                if self._closing.is_set():
                    client.close()
                    upstream.close()
                    return
                self.accepted += 1
                self._sockets += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, True), daemon=True).start()

    def _pipe(self, source: socket.socket, target: socket.socket, from_broker: bool) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                while from_broker and self.stalled.is_set() and not self._closing.is_set():
                    time.sleep(0.05)
                target.sendall(data)
        # One side ended: end the other, as a dying node's socket would.
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def kill(self) -> None:
        """The node dies: refuse new connections and cut every live one."""
        self._closing.set()
        with contextlib.suppress(OSError):
            self._server.close()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()


@contextlib.contextmanager
def forwarders(count: int) -> Iterator[list[Forwarder]]:
    """`count` nodes in front of the one broker, all killed on leaving."""
    nodes = [Forwarder() for _ in range(count)]
    try:
        yield nodes
    finally:
        for node in nodes:
            node.kill()


def dead_url(broker_url: str) -> str:
    """`broker_url` on a loopback port nothing listens on: a node that is down."""
    node = Forwarder()
    node.kill()
    return node.url(broker_url)
