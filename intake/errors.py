"""Every 4xx and 5xx as one JSON shape: {"error": {"code", "message", "field"?, "details"?}}.

Messages name the field and the rule, never the value: a refused value is
the requester's own text, and error bodies pass through proxies and
browser caches that the requester does not control.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from flask import Flask, Response, g, jsonify
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

# Each code's default status and the metrics outcome it counts as. A closed
# table: metrics labels come from here, never from the request.
CODES: dict[str, tuple[int, str]] = {
    "malformed_json": (400, "invalid"),
    "bad_request": (400, "invalid"),
    "pow_invalid": (403, "pow_failed"),
    "pow_expired": (403, "pow_failed"),
    "pow_insufficient": (403, "pow_failed"),
    "not_signed": (403, "not_signed"),
    "cross_site": (403, "invalid"),
    "not_found": (404, "not_found"),
    "method_not_allowed": (405, "method_not_allowed"),
    "mailbox_unknown": (409, "mailbox_unknown"),
    "mailbox_conflict": (409, "mailbox_conflict"),
    "mailbox_full": (409, "mailbox_full"),
    "mailbox_gone": (410, "mailbox_gone"),
    "too_large": (413, "too_large"),
    "unsupported_media_type": (415, "unsupported_media_type"),
    "invalid": (422, "invalid"),
    "envelope_invalid": (422, "invalid"),
    "routing_mismatch": (422, "invalid"),
    "partner_unknown": (422, "invalid"),
    "internal": (500, "error"),
    "unavailable": (503, "unavailable"),
    "directory_expired": (503, "unavailable"),
    "not_ready": (503, "unavailable"),
}

_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
}
_HTTP_MESSAGES = {
    "bad_request": "the request cannot be read",
    "not_found": "no such resource",
    "method_not_allowed": "method not allowed on this resource",
    "too_large": "the body is larger than the limit",
    "unsupported_media_type": "the body must be application/json (UTF-8)",
}


class ApiError(Exception):
    """An answer other than success; raised by views, rendered by the handler below."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        field: str | None = None,
        details: list[tuple[str, str]] | None = None,
        retry_after: int | None = None,
        body_unread: bool = False,
    ) -> None:
        super().__init__(code)
        self.code = code
        self.status = CODES[code][0]
        self.message = message
        self.field = field
        self.details = details
        self.retry_after = retry_after
        # Refused before a byte of the body was read: the connection closes
        # with the answer, or the server would drain a body of any declared
        # length (all of an unpaid flood's bytes) to keep it alive.
        self.body_unread = body_unread


def outcome_of(code: str) -> str:
    return CODES[code][1]


def error_response(error: ApiError) -> Response:
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.field is not None:
        body["field"] = error.field
    if error.details:
        body["details"] = [{"field": f, "reason": r} for f, r in error.details]
    response = jsonify({"error": body})
    response.status_code = error.status
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    if error.body_unread:
        # Honoured by Werkzeug's server; under gunicorn by
        # intake.serving.gunicorn_worker, since gunicorn drops it otherwise.
        response.headers["Connection"] = "close"
    # Read by the metrics hook: the outcome of this answer, from the table above.
    g.error_code = error.code
    return response


def from_http(exc: HTTPException) -> Response:
    status = exc.code or 500
    code = _HTTP_CODES.get(status)
    if code is None:
        # A status Haven never answers on purpose (Werkzeug's 416, 431, …):
        # still JSON, never Werkzeug's HTML page, and never its description.
        code = "bad_request" if 400 <= status < 500 else "internal"
        response = error_response(ApiError(code, "the request cannot be served"))
        response.status_code = status
        return response
    response = error_response(ApiError(code, _HTTP_MESSAGES[code]))
    response.status_code = status
    if status == 405:
        allowed = exc.get_response().headers.get("Allow")
        if allowed:
            response.headers["Allow"] = allowed
    return response


def log_internal(exc: BaseException) -> None:
    """Log an internal fault by its type and where it was raised, nothing else.

    The exception's text may hold request data (a KeyError names the key,
    a decoding error quotes bytes), and so may the path of the request:
    neither is logged.
    """
    frames = traceback.extract_tb(exc.__traceback__)
    where = " <- ".join(f"{f.filename}:{f.lineno} in {f.name}" for f in reversed(frames[-6:]))
    log.error("internal error %s at %s", type(exc).__name__, where or "?")


def from_unexpected(exc: Exception) -> Response:
    # An internal bug, never an input: every input is refused above.
    log_internal(exc)
    return error_response(ApiError("internal", "internal error"))


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(ApiError, error_response)
    app.register_error_handler(HTTPException, from_http)
    app.register_error_handler(Exception, from_unexpected)
