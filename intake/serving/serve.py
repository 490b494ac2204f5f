"""Serving the intake locally (`python -m intake`); production uses intake.serving.gunicorn_conf.

Werkzeug's development server logs every request with the client's address;
its handler here logs nothing at all, whatever the logging configuration.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from werkzeug.serving import WSGIRequestHandler, run_simple

from intake.serving.wsgi import app_from_env


class QuietRequestHandler(WSGIRequestHandler):
    """A request handler that never writes a log line: every one would carry the client address."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return

    def log_error(self, format: str, *args: Any) -> None:
        return

    def log_message(self, format: str, *args: Any) -> None:
        return

    def log(self, type: str, message: str, *args: Any) -> None:
        return


def main(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m intake",
        description="Serve the Haven intake locally (settings from HAVEN_* variables).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    run_simple(
        args.host,
        args.port,
        app_from_env(environ),
        # One request at a time: enough to try the pages and the CLI on one
        # machine. The publisher needs no such limit: whatever the request
        # threads, its one I/O thread owns the only broker connection.
        threaded=False,
        request_handler=QuietRequestHandler,
        use_debugger=False,
        use_reloader=False,
    )
