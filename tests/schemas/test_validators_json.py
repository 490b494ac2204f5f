"""The JSON Schema patterns in schemas/validators.py say what the Python checks do.

Partners in other languages validate with the patterns alone, so each one is
held to its check over every code point (text) or over every day (dates).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

import pytest
from marshmallow import ValidationError

from schemas.validators import (
    BASE64_PATTERN,
    DATE_PATTERN,
    MONTH_PATTERN,
    NOT_BLANK_PATTERN,
    REFUSED_IN_LINE_PATTERN,
    REFUSED_IN_TEXT_PATTERN,
    iso_date,
    iso_month,
    multi_line,
    single_line,
)

ALL_CHARACTERS = [chr(c) for c in range(0x110000)]


def _refused(check: object, text: str) -> bool:
    assert callable(check)
    try:
        check(text)
    except ValidationError:
        return True
    return False


@pytest.mark.parametrize(
    ("check", "pattern"),
    [(single_line, REFUSED_IN_LINE_PATTERN), (multi_line, REFUSED_IN_TEXT_PATTERN)],
)
def test_refused_characters_are_exactly_the_patterns_but_lone_surrogates(
    check: object, pattern: str
) -> None:
    regex = re.compile(pattern)
    for char in ALL_CHARACTERS:
        # "x" around it: a lone character may also be refused as blank.
        text = f"x{char}x"
        expected = _refused(check, text)
        if unicodedata.category(char) == "Cs":
            # Left out of the pattern on purpose (see validators.py).
            assert expected and regex.search(text) is None
        else:
            assert expected == (regex.search(text) is not None), hex(ord(char))


def test_blank_is_exactly_no_character_outside_the_pattern() -> None:
    regex = re.compile(NOT_BLANK_PATTERN)
    for char in ALL_CHARACTERS:
        assert char.isspace() == (regex.search(char) is None), hex(ord(char))


def test_date_pattern_admits_exactly_the_written_forms_iso_date_admits() -> None:
    regex = re.compile(DATE_PATTERN)
    day = dt.date(1989, 12, 25)
    while day.year < 2101:
        text = day.isoformat()
        assert (regex.fullmatch(text) is not None) == (not _refused(iso_date, text)), text
        day += dt.timedelta(days=1)
    # What the pattern cannot know: the length of a month.
    assert regex.fullmatch("2025-02-30") and _refused(iso_date, "2025-02-30")
    for bad in ("2025-13-01", "2025-00-10", "2025-01-32", "2025-1-01", "٢٠٢٥-01-01"):
        assert regex.fullmatch(bad) is None and _refused(iso_date, bad), bad


def test_month_pattern_is_iso_month() -> None:
    regex = re.compile(MONTH_PATTERN)
    for year in range(1980, 2110):
        for month in range(14):
            text = f"{year:04d}-{month:02d}"
            assert (regex.fullmatch(text) is not None) == (not _refused(iso_month, text)), text


def test_base64_pattern_is_the_standard_alphabet() -> None:
    regex = re.compile(BASE64_PATTERN)
    assert regex.fullmatch("AAECAw==")
    for bad in ("AAEC-w==", "AAEC_w==", "AAECAw=\n", "AA=CAw=="):
        assert regex.fullmatch(bad) is None, bad
