"""The operators' listener: /healthz, /readyz and /metrics on a bind of their own (HAVEN_OPS_BIND).

The public listener never serves them (it answers 404): an onion service
publishes a whole port and cannot filter paths, and the accepted-requests
counter, labelled by category, would give anyone polling it a timeline of
who asked for which kind of help. This listener is meant for the internal
network only (Prometheus, the container's health check).

It runs in a process that serves the public app, on a thread of its own,
so /readyz describes that very process (its broker connection, its store).
The local server starts it before it serves. Under gunicorn the listener is
bound once, in the master before it forks (gunicorn_conf's when_ready, as
gunicorn does with the public listener), and every worker serves the socket
it inherited (post_worker_init): the kernel hands each connection to one of
them, a worker that dies or is replaced leaves no connection behind, and a
port in use stops the server once, in its master, with one line. Any worker
may answer: /healthz says that one is alive, /readyz that it can reach the
broker and the store (as the requests it takes need), and /metrics is the
sum over every worker (intake.metrics).
"""

from __future__ import annotations

import socket
import sys
import threading

from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from intake.app import ops_app
from intake.serving.quiet import QuietRequestHandler
from intake.state import EXTENSION, IntakeState

# Where bind_for_workers keeps the listening socket, for the workers forked after it.
OPS_SOCKET = "haven.intake.ops_socket"


def start_ops_server(app: Flask) -> BaseWSGIServer:
    """Serve `app`'s operators' endpoints on its settings' ops_bind; exit 3 (one line) if that fails."""
    with listen_for_operators(app) as listening:
        # The server keeps a duplicate of the socket.
        return serve_operators(app, listening)


def bind_for_workers(app: Flask) -> None:
    """Listen on `app`'s ops_bind now, in gunicorn's master, for every worker it forks (serve_in_worker)."""
    app.extensions[OPS_SOCKET] = listen_for_operators(app)


def serve_in_worker(app: Flask) -> BaseWSGIServer:
    """Serve the operators' endpoints, in this worker, on the socket the master bound (bind_for_workers)."""
    listening: socket.socket = app.extensions[OPS_SOCKET]
    return serve_operators(app, listening)


def listen_for_operators(app: Flask) -> socket.socket:
    """A socket listening on `app`'s ops_bind; exit 3 with one line if it cannot."""
    state: IntakeState = app.extensions[EXTENSION]
    host, port = state.settings.ops_bind
    try:
        # Bound here, not by Werkzeug, which answers a port in use with
        # several lines and exit 1. Same family as the address (IPv6 too).
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listening = socket.create_server((host, port), family=family)
    except OSError as exc:
        # Exit status 3, gunicorn's "worker failed to boot": under gunicorn
        # this runs in the master (when_ready), which stops before any worker.
        print(
            f"haven intake: cannot listen for operators on HAVEN_OPS_BIND {host}:{port}: "
            f"{exc.strerror}",
            file=sys.stderr,
            flush=True,
        )
        raise SystemExit(3) from None
    return listening


def serve_operators(app: Flask, listening: socket.socket) -> BaseWSGIServer:
    """Serve `app`'s operators' endpoints on `listening` from a thread of this process."""
    host, port = listening.getsockname()[:2]
    # Threaded: a slow scrape never holds up the container's health check.
    server = make_server(
        host,
        port,
        ops_app(app),
        threaded=True,
        request_handler=QuietRequestHandler,
        fd=listening.fileno(),
    )
    thread = threading.Thread(target=server.serve_forever, name="haven-ops", daemon=True)
    thread.start()
    return server
