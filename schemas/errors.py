"""Turning marshmallow's nested error messages into one line that names fields, never values."""

from __future__ import annotations

import re
from collections.abc import Iterator

# Field names are echoed in errors; an unknown key is the requester's own
# text, so it is named only if it looks like a field name and could not be
# a piece of the request smuggled into a key.
_PLAIN_KEY = re.compile(r"[a-z0-9_]{1,32}\Z")
_SHOWN = 5


def _join(path: str, key: object) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    name = key if isinstance(key, str) and _PLAIN_KEY.match(key) else "<unnamed field>"
    return f"{path}.{name}" if path else name


def field_errors(messages: object, path: str = "") -> Iterator[tuple[str, str]]:
    """(field path, reason) pairs, in the order marshmallow found them."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            # Schema-level errors belong to the object they were raised on.
            yield from field_errors(value, path if key == "_schema" else _join(path, key))
    elif isinstance(messages, list):
        for item in messages:
            yield from field_errors(item, path)
    else:
        yield path or "document", str(messages)


def one_line(messages: object, *, prefix: str = "") -> str:
    """The errors as 'path: reason; path: reason', the first few only."""
    errors = list(field_errors(messages, prefix))
    shown = "; ".join(f"{path}: {reason}" for path, reason in errors[:_SHOWN])
    if len(errors) > _SHOWN:
        shown += f"; and {len(errors) - _SHOWN} more"
    return shown
