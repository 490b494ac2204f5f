"""The receipt-code word lists (docs/replies-v1.md section 1.2).

Each list is 2048 words in Unicode code point order, one per line in
words/<language>.txt; a word's index is its line number from 0. The lists
are made by scripts/make_receipt_words.py and are part of the format: a
changed list is a new version, since it changes which words a code is.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

LANGUAGES = ("en", "ru", "uk")
LIST_SIZE = 2048
WORD_BITS = 11


@cache
def word_list(language: str) -> tuple[str, ...]:
    if language not in LANGUAGES:
        raise ValueError(f"no receipt-code word list for language {language!r}")
    text = files("haven.replies").joinpath("words", f"{language}.txt").read_text(encoding="utf-8")
    words = tuple(text.splitlines())
    # A damaged install must fail loudly here, not make codes that no other
    # implementation can read back.
    if len(words) != LIST_SIZE or len(set(words)) != LIST_SIZE:
        raise RuntimeError(f"receipt-code word list {language} is damaged")
    return words


@cache
def word_index(language: str) -> dict[str, int]:
    return {word: i for i, word in enumerate(word_list(language))}
