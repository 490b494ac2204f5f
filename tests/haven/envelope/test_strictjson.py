"""Signed documents are parsed so that Python and a browser cannot read them differently."""

from __future__ import annotations

import pytest

from haven.envelope.strictjson import StrictJSONError, b64decode, loads


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'{"version": 1, "version": 2}', "duplicate key"),
        (b'{"version": NaN}', "NaN"),
        (b'{"version": 9007199254740993}', r"2\^53"),
        (b"\xef\xbb\xbf{}", "byte order mark"),
        ('{"a": 1}'.encode("utf-16"), "not JSON"),
        (b"[" * 100_000, "not JSON"),
    ],
)
def test_ambiguous_json_is_refused(data: bytes, reason: str) -> None:
    with pytest.raises(StrictJSONError, match=reason):
        loads(data)


def test_plain_json_is_read() -> None:
    assert loads('{"a": [1, "б"]}'.encode()) == {"a": [1, "б"]}


@pytest.mark.parametrize("text", ["QQ", "QQ==\n", "QR==", " QQ==", 7])
def test_lax_base64_is_refused(text: object) -> None:
    with pytest.raises(StrictJSONError):
        b64decode(text)


def test_canonical_base64_is_read() -> None:
    assert b64decode("QQ==") == b"A"
