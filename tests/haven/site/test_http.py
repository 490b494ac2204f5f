"""check-site's HTTP fetcher against a real socket: a trickling server cannot hold it past its deadline."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from haven.site import HttpFetcher, PageRequest, SiteUnreachable


@pytest.fixture
def trickling() -> Iterator[str]:
    """A server that answers one byte every 50 ms: each read is quick, the answer never ends."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            answer = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n" + b"X-Pad: a\r\n" * 10_000
            for byte in answer:
                if stop.is_set():
                    return
                try:
                    connection.sendall(bytes([byte]))
                except OSError:
                    return
                time.sleep(0.05)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    listener.close()
    thread.join(timeout=5)


def test_a_trickling_server_is_cut_off_at_the_deadline(trickling: str) -> None:
    fetch = HttpFetcher(trickling, timeout=1.0)
    started = time.monotonic()
    with pytest.raises(SiteUnreachable, match=r"^GET http://127\.0\.0\.1:\d+/: no answer in time$"):
        fetch(PageRequest("GET", "/"))
    assert time.monotonic() - started < 5


def test_the_check_does_not_name_itself() -> None:
    # A check that says what it is gets the published code, and browsers another.
    listener = socket.create_server(("127.0.0.1", 0))
    seen: list[bytes] = []

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            seen.append(connection.recv(65536))
            connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        HttpFetcher(f"http://127.0.0.1:{listener.getsockname()[1]}", timeout=5)(
            PageRequest("GET", "/")
        )
    finally:
        listener.close()
        thread.join(timeout=5)
    request = seen[0].lower()
    assert b"haven" not in request
    assert b"\r\nuser-agent: mozilla/5.0 " in request
    assert b"\r\naccept: text/html," in request
