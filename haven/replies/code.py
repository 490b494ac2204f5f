"""Receipt codes: 88 random bits as 8 words, and a 9th word that checks them.

docs/replies-v1.md sections 1.3 to 1.5. A code is shown once on the
requester's device and is the only secret behind their mailbox, so every
error here names a position and a reason, never a word the person typed:
an error message may end up on a screen, in a log or in a bug report.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from haven.replies.words import LANGUAGES, WORD_BITS, word_index, word_list

ENTROPY_BYTES = 11
ENTROPY_BITS = ENTROPY_BYTES * 8  # 88
DATA_WORDS = ENTROPY_BITS // WORD_BITS  # 8
CHECK_WORDS = 1
CODE_WORDS = DATA_WORDS + CHECK_WORDS  # 9

# The check word is one symbol of GF(2^11) = GF(2)[x] / (x^11 + x^2 + 1),
# a primitive polynomial, so alpha = x has order 2047 and the nine weights
# alpha^0 .. alpha^8 are distinct and non-zero: any one substituted word, and
# any two unequal words swapped, change the check (section 1.4).
_FIELD_POLY = 0b1000_0000_0101
_FIELD_TOP = 1 << WORD_BITS


class CodeError(ValueError):
    """A receipt code that does not parse.

    `reason` is one of "word_count", "unknown_word", "check_failed";
    `position` is the 1-based position of the unknown word, else None.
    """

    def __init__(self, reason: str, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.position = position


def _gf_mul(a: int, b: int) -> int:
    product = 0
    while b:
        if b & 1:
            product ^= a
        b >>= 1
        a <<= 1
        if a & _FIELD_TOP:
            a ^= _FIELD_POLY
    return product


def check_index(data: list[int] | tuple[int, ...]) -> int:
    """The check word's index: the sum over i = 1..8 of alpha^i * x_i in GF(2^11)."""
    if len(data) != DATA_WORDS:
        raise ValueError(f"a code has {DATA_WORDS} data words")
    check, weight = 0, 1
    for index in data:
        weight = _gf_mul(weight, 2)
        check ^= _gf_mul(weight, index)
    return check


def _split(entropy: bytes) -> list[int]:
    value = int.from_bytes(entropy, "big")
    mask = (1 << WORD_BITS) - 1
    return [(value >> (WORD_BITS * (DATA_WORDS - 1 - i))) & mask for i in range(DATA_WORDS)]


def _join(data: list[int]) -> bytes:
    value = 0
    for index in data:
        value = (value << WORD_BITS) | index
    return value.to_bytes(ENTROPY_BYTES, "big")


@dataclass(frozen=True)
class ReceiptCode:
    """88 bits of entropy and the language of the list they are written in.

    The keys depend on the entropy alone (section 1.6): the language only
    chooses which words show it, so the same code written in another list
    opens the same mailbox.
    """

    entropy: bytes = field(repr=False)
    language: str

    def __post_init__(self) -> None:
        if len(self.entropy) != ENTROPY_BYTES:
            raise ValueError(f"a receipt code holds {ENTROPY_BYTES} bytes of entropy")
        if self.language not in LANGUAGES:
            raise ValueError(f"no receipt-code word list for language {self.language!r}")

    @property
    def indices(self) -> tuple[int, ...]:
        data = _split(self.entropy)
        return (*data, check_index(data))

    @property
    def words(self) -> tuple[str, ...]:
        words = word_list(self.language)
        return tuple(words[i] for i in self.indices)

    def in_language(self, language: str) -> ReceiptCode:
        return ReceiptCode(self.entropy, language)


def generate(language: str, randbytes: Callable[[int], bytes] = os.urandom) -> ReceiptCode:
    """A fresh code; `randbytes` is the seam tests use, the OS generator otherwise."""
    return ReceiptCode(randbytes(ENTROPY_BYTES), language)


def format_code(code: ReceiptCode) -> str:
    """The code as shown: its nine words, separated by single spaces."""
    return " ".join(code.words)


# Latin letters that look like Cyrillic ones on a screen or on paper, folded
# to the Cyrillic letter inside a word that already has a Cyrillic letter
# (section 1.5). A phone's Latin layout, a copy through a Latin-only font,
# or a person copying by eye can put a Latin "o" or "i" into "вокзал" or
# "місто"; no list word mixes scripts, so folding cannot make one word read
# as another. Words with no Cyrillic letter (English) are left alone.
_LATIN_TO_CYRILLIC = str.maketrans("acekmhoptxyi", "асекмнортхуі")

# Combining marks (Mn, Me) and format characters (Cf) are dropped after NFC:
# a stress mark (U+0301) copied from a dictionary, a soft hyphen (U+00AD) a
# word processor put in, or a zero-width space must not split a word or make
# it unknown. NFC has already composed й, ї and ё, so no list letter is lost.
_DROPPED_CATEGORIES = frozenset(("Mn", "Me", "Cf"))


def _is_cyrillic(char: str) -> bool:
    return "\u0400" <= char <= "\u04ff"


def _fold_word(word: str) -> str:
    if any(_is_cyrillic(c) for c in word):
        return word.translate(_LATIN_TO_CYRILLIC)
    return word


def normalise(text: str) -> list[str]:
    """Section 1.5: NFC, marks dropped, lower case, ё as е, words as runs of letters, look-alikes folded."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(c for c in text if unicodedata.category(c) not in _DROPPED_CATEGORIES)
    text = text.lower().replace("ё", "е")
    words: list[str] = []
    current: list[str] = []
    for char in text:
        # Letters are Unicode category L*. Anything else (spaces, line
        # breaks, hyphens, commas, numbering such as "1." or "2)") separates
        # words, so a code copied from a numbered list on paper still reads.
        if unicodedata.category(char).startswith("L"):
            current.append(char)
        elif current:
            words.append("".join(current))
            current = []
    if current:
        words.append("".join(current))
    return [_fold_word(word) for word in words]


def _language_of(words: list[str]) -> str:
    # The lists share no word (section 1.2), so the list holding the most of
    # the words is the code's; a tie goes to the first in LANGUAGES order.
    counts = [sum(w in word_index(lang) for w in words) for lang in LANGUAGES]
    return LANGUAGES[counts.index(max(counts))]


def parse(text: str) -> ReceiptCode:
    words = normalise(text)
    if len(words) != CODE_WORDS:
        raise CodeError(
            "word_count", f"a receipt code has {CODE_WORDS} words; this has {len(words)}"
        )
    language = _language_of(words)
    index = word_index(language)
    indices: list[int] = []
    for position, word in enumerate(words, start=1):
        if word not in index:
            raise CodeError(
                "unknown_word",
                f"word {position} of the receipt code is not in its word list",
                position,
            )
        indices.append(index[word])
    data = indices[:DATA_WORDS]
    if indices[DATA_WORDS] != check_index(data):
        raise CodeError(
            "check_failed",
            "the receipt code's check failed: a word is mistyped or two words are swapped",
        )
    return ReceiptCode(_join(data), language)
