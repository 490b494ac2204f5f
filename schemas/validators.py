"""Validators shared by the schemas. Each raises `ValidationError` with a message code's text."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from marshmallow import ValidationError, validate

from schemas.messages import en

# Bidirectional controls can make a text display differently from what it
# says (a handle or a name shown reversed to the partner); none of Haven's
# languages needs them.
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
# Cc: control characters; Cs: lone surrogates (JSON can carry them, UTF-8
# cannot, so they would break sealing later); Zl/Zp: line separators that
# slip past a single-line check.
_REJECTED_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})

# ASCII digits only: \d would also accept Arabic-Indic and other digits.
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_MONTH_RE = re.compile(r"[0-9]{4}-[0-9]{2}\Z")
# Far outside any real date in a request: catches typos such as 0202 or 2205.
_MIN_YEAR = 1990
_MAX_YEAR = 2099

# The same rules as JSON Schema patterns (schemas/json/, docs/json-schema.md).
# Each is ECMA-262 and Python alike: ASCII and \uXXXX escapes only, anchored
# with ^ and $ (in ECMA-262 `$` is the end of the input; in Python they are
# applied with FullMatch or fullmatch). tests/schemas/test_validators_json.py
# holds each pattern equal to the check above it, code point by code point.
#
# A character a text refuses, found anywhere in it (the schema says `not`):
# Cc except the line feed, Zl, Zp and the bidi controls. Lone surrogates (Cs)
# are left out: an ECMA-262 engine without the `u` flag would also refuse
# every emoji; JSON Schema documents say so in their description.
_REFUSED_CLASS = (
    r"\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f"
    r"\u2028\u2029\u202a-\u202e\u2066-\u2069"
)
REFUSED_IN_TEXT_PATTERN = f"[{_REFUSED_CLASS}]"
REFUSED_IN_LINE_PATTERN = rf"[\n{_REFUSED_CLASS}]"
# A character that str.strip() keeps: text without one is blank.
NOT_BLANK_PATTERN = (
    r"[^\u0009-\u000d\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a"
    r"\u2028\u2029\u202f\u205f\u3000]"
)
# The year range and the month are exact; whether the day exists in that
# month (no 2025-02-30) is not, and each document's description says so.
_YEAR = "(199[0-9]|20[0-9]{2})"
_MONTH = "(0[1-9]|1[0-2])"
DATE_PATTERN = f"^{_YEAR}-{_MONTH}-(0[1-9]|[12][0-9]|3[01])$"
MONTH_PATTERN = f"^{_YEAR}-{_MONTH}$"
# Standard base64 with padding; canonical spelling (no stray bits) is checked
# by decoding, which no pattern can do.
BASE64_PATTERN = "^[A-Za-z0-9+/]*={0,2}$"


class FullMatch(validate.Regexp):
    """Regexp that must match the whole value: "1234" and a newline is not a nonce.

    marshmallow's Regexp uses re.match, so `^…$` would admit a trailing
    newline: a second spelling of one value, and a byte the worker, a log
    or a header could read differently. The pattern stays in the OpenAPI
    document and the JSON Schema as written (apispec reads `regex.pattern`).
    """

    # Any, as marshmallow's own (overloaded) __call__: a str in, the same str out.
    def __call__(self, value: Any) -> Any:
        if self.regex.fullmatch(value) is None:
            # The message never holds the value: it is the requester's text.
            raise ValidationError(self.error)
        return value


def _check_characters(value: str, *, multiline: bool) -> None:
    for char in value:
        if char == "\n":
            if multiline:
                continue
            raise ValidationError(en("single_line"))
        if char in _BIDI_CONTROLS or unicodedata.category(char) in _REJECTED_CATEGORIES:
            raise ValidationError(en("control_chars"))


def single_line(value: str) -> None:
    """Printable text on one line, not blank."""
    _check_characters(value, multiline=False)
    if not value.strip():
        raise ValidationError(en("blank"))


def multi_line(value: str) -> None:
    """Printable text; line feeds allowed (clients send LF, not CR LF); not blank."""
    _check_characters(value, multiline=True)
    if not value.strip():
        raise ValidationError(en("blank"))


def iso_date(value: str) -> None:
    """A real calendar day written YYYY-MM-DD."""
    if not _DATE_RE.match(value):
        raise ValidationError(en("not_a_date"))
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationError(en("not_a_date")) from None
    if not _MIN_YEAR <= day.year <= _MAX_YEAR:
        raise ValidationError(en("not_a_date"))


def iso_month(value: str) -> None:
    """A real month written YYYY-MM."""
    if not _MONTH_RE.match(value):
        raise ValidationError(en("not_a_month"))
    year, month = int(value[:4]), int(value[5:])
    if not (_MIN_YEAR <= year <= _MAX_YEAR and 1 <= month <= 12):
        raise ValidationError(en("not_a_month"))


def unique_items(values: Sequence[object]) -> None:
    """No option chosen twice: a duplicate is a client bug or a crafted request."""
    if len(set(values)) != len(values):
        raise ValidationError(en("duplicate"))


def none_alone(values: Sequence[object]) -> None:
    """ "none" contradicts every other option."""
    if "none" in values and len(values) > 1:
        raise ValidationError(en("none_exclusive"))


def canonical_base64(text: str, size: int) -> bytes | None:
    """The `size` bytes that `text` spells in standard padded base64, or None.

    One value, one spelling: the length is checked before decoding, and the
    bytes must re-encode to exactly `text` (no stray padding bits, no
    URL-safe alphabet, no line breaks).
    """
    if len(text) != 4 * -(-size // 3):
        return None
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) != size or base64.b64encode(raw).decode() != text:
        return None
    return raw
