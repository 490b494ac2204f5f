"""Reading a submission's body: media type, size, then strict JSON."""

from __future__ import annotations

import json
from typing import Any, NoReturn

from flask import request
from werkzeug.exceptions import HTTPException

from intake.errors import ApiError

_UTF8 = frozenset({"utf-8", "utf8"})


def _duplicate_keys_refused(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # One document, one reading: with a key given twice, two parsers (ours and
    # the worker's, or a proxy's) could each see a different routing.
    data = dict(pairs)
    if len(data) != len(pairs):
        raise ValueError("duplicate key")
    return data


def _constant_refused(_: str) -> NoReturn:
    raise ValueError("NaN and Infinity are not JSON")


def werkzeug_limit(limit: int) -> int:
    """MAX_CONTENT_LENGTH for a body limit of `limit` bytes: one more, to see a chunked body pass it."""
    return limit + 1


def read_json(limit: int) -> Any:
    """The body (at most `limit` bytes) as a JSON value; 415, 413 or 400 otherwise, in that order.

    400 is `bad_request` when the body cannot be read at all (a broken
    chunked encoding), `malformed_json` when it is read but is not JSON.
    """
    if request.mimetype != "application/json" or (
        request.mimetype_params.get("charset", "utf-8").lower() not in _UTF8
    ):
        raise ApiError(
            "unsupported_media_type",
            "the body must be application/json (UTF-8)",
            body_unread=True,
        )
    # Refused on the declared length, before a byte of the body is read.
    if request.content_length is not None and request.content_length > limit:
        raise ApiError("too_large", f"the body is larger than {limit} bytes", body_unread=True)
    # A chunked body has no declared length: Werkzeug stops reading it at
    # MAX_CONTENT_LENGTH (one byte over our limit), so reaching that is refusing it.
    try:
        raw = request.stream.read()
    except HTTPException:
        # Werkzeug's own refusals while reading (a client that disconnected,
        # a body over MAX_CONTENT_LENGTH) keep their status.
        raise
    except Exception:  # noqa: BLE001 - whatever the server raises on a broken body
        # A malformed chunked body under gunicorn (InvalidChunkSize,
        # ChunkMissingTerminator, InvalidChunkExtension: not OSError, not
        # ValueError), a reset connection (OSError), a bad size (ValueError):
        # the client's fault, so 400, never a 500 that logs the server's
        # exception. No detail: gunicorn's messages quote the bytes received.
        raise ApiError("bad_request", "the request body cannot be read") from None
    if len(raw) > limit:
        raise ApiError("too_large", f"the body is larger than {limit} bytes")
    try:
        return json.loads(
            raw.decode("utf-8"),
            object_pairs_hook=_duplicate_keys_refused,
            parse_constant=_constant_refused,
        )
    except (UnicodeDecodeError, ValueError, RecursionError):
        # No position or excerpt: the error would quote the requester's bytes.
        raise ApiError("malformed_json", "the body is not a JSON document in UTF-8") from None
