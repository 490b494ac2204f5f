"""A gunicorn logger that has no way to write request data (intake.serving.gunicorn_conf uses it).

With the access log off, gunicorn still writes two lines about requests on
its own: "Invalid request from ip=<address>: <the offending bytes>" for a
request it cannot parse, and "Error handling request <method> <uri>" when an
application crashes. Both are replaced here by lines without address or
request content; the access log cannot be switched back on.

Nothing below INFO is ever written, whatever `--log-level` or
GUNICORN_CMD_ARGS say: at DEBUG gunicorn logs request bytes ("Ignored
premature client disconnection. No more data after: b'User-Agent: …'") and
every method and path.
"""

from __future__ import annotations

import logging
from typing import Any

from gunicorn.glogging import Logger  # type: ignore[import-untyped]

FLOOR = logging.INFO


class RequestBlindLogger(Logger):  # type: ignore[misc]
    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        # Clamped after gunicorn has applied the configured level (and any
        # logconfig), on every reload too: a debug level would log requests.
        configured: int = self.LOG_LEVELS.get(str(cfg.loglevel).lower(), FLOOR)
        self.loglevel = max(configured, FLOOR)
        for log in (self.error_log, self.access_log):
            if log.getEffectiveLevel() < FLOOR:
                log.setLevel(FLOOR)

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        return

    def debug(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        # Dropped outright, not just filtered by level: the records would
        # carry request bytes to any handler a logconfig attaches.
        return

    def log(self, lvl: Any, msg: Any, *args: Any, **kwargs: Any) -> None:
        level = self.LOG_LEVELS.get(lvl.lower(), FLOOR) if isinstance(lvl, str) else lvl
        if level < FLOOR:
            return
        super().log(level, msg, *args, **kwargs)

    def warning(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        if str(msg).startswith("Invalid request from"):
            super().warning("invalid HTTP request refused")
            return
        super().warning(msg, *args, **kwargs)

    def exception(self, msg: Any, *args: Any, **kwargs: Any) -> None:
        if str(msg).startswith("Error handling request"):
            # No traceback either: the exception's text may quote the request.
            super().error("error handling a request (details withheld)")
            return
        super().exception(msg, *args, **kwargs)
