"""A Werkzeug request handler that logs nothing: every line it would write carries the client's address."""

from __future__ import annotations

from typing import Any

from werkzeug.serving import WSGIRequestHandler


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
