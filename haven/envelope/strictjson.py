"""Strict JSON and base64 for signed documents.

Signed documents are read by Python and by browsers. Anything two parsers
might read differently (duplicate keys, NaN, integers beyond 2^53, byte
order marks, lax base64) is refused, so a document cannot mean one thing to
the verifier and another to the client that uses it.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

MAX_SAFE_INTEGER = 2**53 - 1


class StrictJSONError(ValueError):
    """The bytes are not strict JSON, or not canonical base64."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise StrictJSONError(f"duplicate key {key[:40]!r}")
        result[key] = value
    return result


def _bounded_int(text: str) -> int:
    value = int(text)
    if abs(value) > MAX_SAFE_INTEGER:
        raise StrictJSONError("integer beyond 2^53")
    return value


def _no_constant(name: str) -> Any:
    raise StrictJSONError(f"{name} is not JSON")


def loads(data: bytes) -> Any:
    """Parse UTF-8 JSON (no byte order mark) strictly."""
    if data.startswith(b"\xef\xbb\xbf"):
        raise StrictJSONError("byte order mark")
    try:
        text = data.decode("utf-8")
        return json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_int=_bounded_int,
            parse_constant=_no_constant,
        )
    except StrictJSONError:
        raise
    except (ValueError, RecursionError) as exc:
        # RecursionError: deeply nested input from an unauthenticated source
        # must be a refusal, not a crash.
        raise StrictJSONError("not JSON") from exc


def b64decode(text: object) -> bytes:
    """Standard base64 with padding, no whitespace, canonical trailing bits."""
    if not isinstance(text, str):
        raise StrictJSONError("not a base64 string")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise StrictJSONError("not base64") from exc
    if base64.b64encode(raw).decode("ascii") != text:
        raise StrictJSONError("base64 is not canonical")
    return raw
