"""A gunicorn thread worker whose reads give up on a silent client (intake.serving.gunicorn_conf uses it).

gunicorn's gthread worker waits for a first byte before it gives a client
a thread, but after that it reads with a blocking socket and no timeout:
sixteen connections that send half a header and then nothing hold all
sixteen threads for good, and the intake stops answering anyone (a cheap
attack from a few Tor circuits). Here every read and write on a client
socket gives up after HAVEN_READ_TIMEOUT seconds (default 15) without progress, and the
connection is closed.

A buffering reverse proxy in front (the compose stack's) is still the
first line against clients that trickle a byte at a time.

It also honours the intake's `Connection: close` (given with a refusal made
before the body was read, intake.errors): gunicorn drops that header from an
application's answer and, on a kept-alive connection, would read and
discard the unread body, however long it is declared, before the next
request. Here the answer closes the connection instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from gunicorn.workers.gthread import ThreadWorker  # type: ignore[import-untyped]

# Seconds of silence tolerated in the middle of a request: generous for a
# slow Tor circuit, short against a client that stopped on purpose.
DEFAULT_READ_TIMEOUT = 15.0


def read_timeout(environ: Mapping[str, str]) -> float:
    raw = environ.get("HAVEN_READ_TIMEOUT") or str(DEFAULT_READ_TIMEOUT)
    try:
        value = float(raw)
    except ValueError:
        raise SystemExit("haven intake: HAVEN_READ_TIMEOUT must be a number of seconds") from None
    if not 0.5 <= value <= 300:
        raise SystemExit("haven intake: HAVEN_READ_TIMEOUT must be between 0.5 and 300 seconds")
    return value


class BoundedReadThreadWorker(ThreadWorker):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.read_timeout = read_timeout(os.environ)

    def handle(self, conn: Any) -> Any:
        initialise = conn.init

        def init_with_deadline() -> None:
            initialise()
            # init() (and the keep-alive path before it) sets the socket to
            # blocking with no timeout; the deadline goes on after that.
            conn.sock.settimeout(self.read_timeout)

        conn.init = init_with_deadline
        return super().handle(conn)

    def load_wsgi(self) -> None:
        super().load_wsgi()
        # The standard middleware seat: the Flask app stays what gunicorn
        # holds (the operators' listener reads its extensions).
        self.wsgi.wsgi_app = closing_when_asked(self.wsgi.wsgi_app)


StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def closing_when_asked(app: WsgiApp) -> WsgiApp:
    """`app`, with gunicorn closing the connection after any answer that says `Connection: close`."""

    def closing_app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if any(k.lower() == "connection" and v.lower() == "close" for k, v in headers):
                # gunicorn's start_response is a method of its Response:
                # force_close() makes it send `Connection: close` itself and
                # close the socket after the answer, with no drain.
                owner = getattr(start_response, "__self__", None)
                force_close = getattr(owner, "force_close", None)
                if callable(force_close):
                    force_close()
                # Hop-by-hop: the server's to send, never the application's (PEP 3333).
                headers = [(k, v) for k, v in headers if k.lower() != "connection"]
            return start_response(status, headers, exc_info)

        return app(environ, start)

    return closing_app
