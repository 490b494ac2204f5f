"""Write tests/haven/replies/vectors/replies-v1-code.json (receipt code and derived keys).

Run from the repository root: `.venv/bin/python -m tests.haven.replies.make_vectors`.
Everything here is deterministic, so run on the committed file it writes the
same bytes (test_vectors.py checks that). The layout is documented in
docs/replies-v1.md section 1.8. The entropies below are test fixtures,
published on purpose: never use them as a real receipt code.
"""

from __future__ import annotations

import base64
import json
import unicodedata
from pathlib import Path
from typing import Any

from haven.replies import ARGON2, LANGUAGES, ReceiptCode, derive, format_code
from haven.replies.derive import (
    ACCESS_SECRET_INFO,
    MAILBOX_ID_INFO,
    REPLY_SEED_INFO,
    SALT,
    expand,
    stretch,
)

VECTORS = Path(__file__).parent / "vectors" / "replies-v1-code.json"

TEST_ONLY_ENTROPIES = [
    ("all_zero", bytes(11)),
    ("all_one_bits", bytes([0xFF]) * 11),
    ("counting", bytes(range(1, 12))),
    ("fixture", bytes.fromhex("5ac3e0127f9b44d1a6082e")),
]


# Cyrillic letters and the Latin letters that look like them, which section
# 1.5 folds back inside a word that has a Cyrillic letter.
LOOK_ALIKES = {
    "а": "a",
    "е": "e",
    "о": "o",
    "р": "p",
    "с": "c",
    "у": "y",
    "х": "x",
    "к": "k",
    "м": "m",
    "т": "t",
    "н": "H",
    "і": "i",
}
# Latin letters a person might type for a Cyrillic one, which are not folded
# (they do not look the same): the word stays unknown.
NOT_FOLDED = {"в": "b", "и": "u", "д": "d", "л": "l", "з": "z", "г": "r"}


def _one_look_alike(word: str) -> str:
    # One Latin letter in a word that keeps its other Cyrillic letters.
    cyrillic = next(c for c in word if c in LOOK_ALIKES)
    return word.replace(cyrillic, LOOK_ALIKES[cyrillic], 1)


def _positive(name: str, entropy: bytes) -> dict[str, Any]:
    code = ReceiptCode(entropy, "en")
    tag = stretch(entropy)
    keys = derive(code)
    seed = expand(tag, REPLY_SEED_INFO)
    assert keys.reply_key.seed == seed
    return {
        "name": name,
        "entropy": entropy.hex(),
        "indices": list(code.indices),
        "codes": {lang: format_code(code.in_language(lang)) for lang in LANGUAGES},
        "argon2id_tag": tag.hex(),
        "mailbox_id": keys.mailbox_id.hex(),
        "access_secret": keys.access_secret.hex(),
        "reply_seed": seed.hex(),
        "reply_public_key": base64.b64encode(keys.reply_key.public_key.to_bytes()).decode(),
        "reply_kid": keys.reply_key.kid.hex(),
    }


def _words(entropy: bytes, language: str) -> list[str]:
    return list(ReceiptCode(entropy, language).words)


def _parse_cases(entropy: bytes) -> list[dict[str, Any]]:
    ru = _words(entropy, "ru")
    uk = _words(entropy, "uk")
    en = _words(entropy, "en")
    with_yo = [w.replace("е", "ё", 1) for w in ru]
    return [
        {"name": "upper_case", "input": " ".join(ru).upper()},
        {"name": "yo_for_ye", "input": " ".join(with_yo)},
        {"name": "upper_case_yo", "input": " ".join(with_yo).upper()},
        {"name": "numbered_lines", "input": "\n".join(f"{i}. {w}" for i, w in enumerate(ru, 1))},
        {"name": "hyphens_commas_tabs", "input": "-".join(en[:3]) + ",\t" + " ,  ".join(en[3:])},
        {"name": "decomposed_nfd", "input": unicodedata.normalize("NFD", " ".join(uk).title())},
        {"name": "surrounding_spaces", "input": "\u00a0 " + "  ".join(uk) + " \n"},
        {"name": "latin_homoglyph", "input": " ".join(_one_look_alike(w) for w in ru)},
        {
            "name": "latin_i_in_ukrainian",
            "input": " ".join(w.replace("і", "i") for w in uk[:5])
            + " "
            + " ".join(w.replace("і", "I").upper() for w in uk[5:]),
        },
        # A stress mark (U+0301) on the first vowel, as a dictionary shows it.
        {"name": "stress_marks", "input": " ".join(_stressed(w) for w in ru)},
        # A soft hyphen, a zero-width space and a word joiner inside words.
        {
            "name": "format_characters",
            "input": " ".join(
                w[:2] + ("\u00ad", "\u200b", "\u2060")[i % 3] + w[2:] for i, w in enumerate(uk)
            ),
        },
    ]


def _stressed(word: str) -> str:
    i = next(i for i, c in enumerate(word) if c in "аеиоуыэюяіїє")
    return word[: i + 1] + "\u0301" + word[i + 1 :]


def _negative_cases(entropy: bytes) -> list[dict[str, Any]]:
    code = ReceiptCode(entropy, "ru")
    ru = list(code.words)
    other = ReceiptCode(bytes(b ^ 0x5A for b in entropy), "ru").words
    substituted = ru.copy()
    substituted[4] = next(w for w in other if w != ru[4])
    swapped = ru.copy()
    swapped[1], swapped[2] = swapped[2], swapped[1]
    assert swapped != ru
    check_replaced = ru.copy()
    check_replaced[8] = next(w for w in other if w != ru[8])
    unknown = ru.copy()
    unknown[2] = "абвгд"
    unknown_first = ru.copy()
    unknown_first[0] = "ъъъъ"
    mixed = ru.copy()
    mixed[6] = _words(entropy, "uk")[6]
    # A Latin letter that does not look like the Cyrillic one is not folded.
    not_folded = ru.copy()
    latin_at = next(i for i, w in enumerate(ru) if set(w) & NOT_FOLDED.keys())
    letter = next(c for c in ru[latin_at] if c in NOT_FOLDED)
    not_folded[latin_at] = ru[latin_at].replace(letter, NOT_FOLDED[letter], 1)
    # U+02BC (a letter, category Lm) keeps the word whole: nine words, and
    # the third is unknown, since no list word has an apostrophe.
    uk = _words(entropy, "uk")
    apostrophe = uk.copy()
    apostrophe[2] = uk[2][:2] + "\u02bc" + uk[2][2:]
    # An English word one slip off (a letter dropped): the message must not
    # repeat it, checked in the message's own script too, where an echoed
    # word would pass for part of the sentence.
    en = _words(entropy, "en")
    typo = en.copy()
    typo[4] = en[4][:1] + en[4][2:]
    # Four Ukrainian words, then four Russian: a tie, which goes to ru (en,
    # ru, uk order), so the first unknown word is the first.
    tie = [*uk[:4], *ru[4:8], "zzzz"]
    return [
        {"name": "empty", "input": "", "reason": "word_count", "position": None},
        {
            "name": "too_few_words",
            "input": " ".join(ru[:8]),
            "reason": "word_count",
            "position": None,
        },
        {
            "name": "too_many_words",
            "input": " ".join([*ru, ru[0]]),
            "reason": "word_count",
            "position": None,
        },
        {
            "name": "glued_words",
            "input": " ".join([ru[0] + ru[1], *ru[2:]]),
            "reason": "word_count",
            "position": None,
        },
        {
            "name": "unknown_word",
            "input": " ".join(unknown),
            "reason": "unknown_word",
            "position": 3,
        },
        {
            "name": "unknown_first_word",
            "input": " ".join(unknown_first),
            "reason": "unknown_word",
            "position": 1,
        },
        {
            "name": "word_from_another_list",
            "input": " ".join(mixed),
            "reason": "unknown_word",
            "position": 7,
        },
        {
            "name": "latin_letter_not_a_look_alike",
            "input": " ".join(not_folded),
            "reason": "unknown_word",
            "position": latin_at + 1,
        },
        {
            "name": "modifier_apostrophe",
            "input": " ".join(apostrophe),
            "reason": "unknown_word",
            "position": 3,
        },
        {
            "name": "english_typo",
            "input": " ".join(typo),
            "reason": "unknown_word",
            "position": 5,
        },
        {
            "name": "language_tie",
            "input": " ".join(tie),
            "reason": "unknown_word",
            "position": 1,
        },
        {
            "name": "substituted_word",
            "input": " ".join(substituted),
            "reason": "check_failed",
            "position": None,
        },
        {
            "name": "substituted_check_word",
            "input": " ".join(check_replaced),
            "reason": "check_failed",
            "position": None,
        },
        {
            "name": "swapped_words",
            "input": " ".join(swapped),
            "reason": "check_failed",
            "position": None,
        },
    ]


def build() -> dict[str, Any]:
    fixture = TEST_ONLY_ENTROPIES[-1][1]
    return {
        "version": 1,
        "spec": "docs/replies-v1.md",
        "note": "test fixtures: these codes are public, never use one as a real receipt code",
        "argon2id": {
            "salt": SALT.decode("ascii"),
            "time_cost": ARGON2.time_cost,
            "memory_kib": ARGON2.memory_kib,
            "parallelism": ARGON2.parallelism,
            "tag_bytes": ARGON2.tag_bytes,
            "version": ARGON2.version,
        },
        "hkdf_info": {
            "mailbox_id": MAILBOX_ID_INFO.decode("ascii"),
            "access_secret": ACCESS_SECRET_INFO.decode("ascii"),
            "reply_seed": REPLY_SEED_INFO.decode("ascii"),
        },
        "positive": [_positive(name, entropy) for name, entropy in TEST_ONLY_ENTROPIES],
        "parse": [{**case, "entropy": fixture.hex()} for case in _parse_cases(fixture)],
        "negative": _negative_cases(fixture),
    }


def render(vectors: dict[str, Any]) -> str:
    return json.dumps(vectors, ensure_ascii=False, indent=2) + "\n"


def main() -> None:
    VECTORS.write_text(render(build()), encoding="utf-8")
    print(f"wrote {VECTORS}")


if __name__ == "__main__":
    main()
