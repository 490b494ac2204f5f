"""The receipt-code word lists (docs/replies-v1.md section 1.2).

Each list is 2048 words in Unicode code point order, one per line in
words/<language>.txt; a word's index is its line number from 0. The lists
are made by scripts/make_receipt_words.py and are part of the format: a
changed list is a new version, since it changes which words a code is.
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib.resources import files

LANGUAGES = ("en", "ru", "uk")
LIST_SIZE = 2048
WORD_BITS = 11

# The SHA-256 of each file, as docs/replies-v1.md section 1.2 lists them. A
# list re-sorted under another collation, saved with CRLF line ends or with a
# byte-order mark still has 2048 distinct lines, yet every code made from it
# names other indices, so opens another mailbox than any other implementation
# would: only the digest tells such a list apart.
LIST_SHA256 = {
    "en": "5e1977ba60ad237124fb554ffb126e16433740ae99862fe96bddf19176e126f7",
    "ru": "3f8704a41c120c398567e123f423ac29a12bb2c14198d2eae2a436980e20739f",
    "uk": "66a956107d8dab2418ad1bb5463c819aa1204f66e16a8598df5a4cd54ee7db81",
}


@cache
def word_list(language: str) -> tuple[str, ...]:
    if language not in LANGUAGES:
        raise ValueError(f"no receipt-code word list for language {language!r}")
    raw = files("haven.replies").joinpath("words", f"{language}.txt").read_bytes()
    return parse_list(language, raw)


def parse_list(language: str, raw: bytes) -> tuple[str, ...]:
    """A list file's words, or RuntimeError if its bytes are not the spec's."""
    # A damaged install must fail loudly here, not make codes that no other
    # implementation can read back.
    if hashlib.sha256(raw).hexdigest() != LIST_SHA256[language]:
        raise RuntimeError(f"receipt-code word list {language} is damaged")
    return tuple(raw.decode("utf-8").split("\n")[:-1])


@cache
def word_index(language: str) -> dict[str, int]:
    return {word: i for i, word in enumerate(word_list(language))}
