"""A gunicorn logger that has no way to write request data (gunicorn.conf.py uses it).

With the access log off, gunicorn still writes two lines about requests on
its own: "Invalid request from ip=<address>: <the offending bytes>" for a
request it cannot parse, and "Error handling request <method> <uri>" when an
application crashes. Both are replaced here by lines without address or
request content; the access log cannot be switched back on.
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger  # type: ignore[import-untyped]


class RequestBlindLogger(Logger):  # type: ignore[misc]
    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        return

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
