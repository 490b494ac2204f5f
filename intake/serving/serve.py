"""Serving the intake locally (`python -m intake`); production uses intake.serving.gunicorn_conf.

Werkzeug's development server logs every request with the client's address;
its handler here logs nothing at all, whatever the logging configuration.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from werkzeug.serving import run_simple

from intake.serving.ops_server import start_ops_server
from intake.serving.quiet import QuietRequestHandler
from intake.serving.wsgi import app_from_env


def main(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m intake",
        description="Serve the Haven intake locally (settings from HAVEN_* variables).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    app = app_from_env(environ)
    # /healthz, /readyz, /metrics: on HAVEN_OPS_BIND, never on --host/--port.
    start_ops_server(app)
    run_simple(
        args.host,
        args.port,
        app,
        # One request at a time: enough to try the pages and the CLI on one
        # machine. The publisher needs no such limit: whatever the request
        # threads, its one I/O thread owns the only broker connection.
        threaded=False,
        request_handler=QuietRequestHandler,
        use_debugger=False,
        use_reloader=False,
    )
