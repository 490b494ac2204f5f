"""The operators' listener: /healthz, /readyz and /metrics on a bind of their own (HAVEN_OPS_BIND).

The public listener never serves them (it answers 404): an onion service
publishes a whole port and cannot filter paths, and the accepted-requests
counter, labelled by category, would give anyone polling it a timeline of
who asked for which kind of help. This listener is meant for the internal
network only (Prometheus, the container's health check).

It runs in the process that serves the public app, on a thread of its own,
so /readyz and /metrics describe that very process (its broker connection,
its counters). gunicorn starts it in its worker (gunicorn_conf's
post_worker_init); the local server before it serves.
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


def start_ops_server(app: Flask) -> BaseWSGIServer:
    """Serve `app`'s operators' endpoints on its settings' ops_bind; exit 3 (one line) if that fails."""
    state: IntakeState = app.extensions[EXTENSION]
    host, port = state.settings.ops_bind
    try:
        # Bound here, not by Werkzeug, which answers a port in use with
        # several lines and exit 1. Same family as the address (IPv6 too).
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listening = socket.create_server((host, port), family=family)
    except OSError as exc:
        # Exit status 3 is gunicorn's "worker failed to boot": the master
        # stops instead of restarting workers that cannot listen either.
        print(
            f"haven intake: cannot listen for operators on HAVEN_OPS_BIND {host}:{port}: "
            f"{exc.strerror}",
            file=sys.stderr,
            flush=True,
        )
        raise SystemExit(3) from None
    with listening:
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
