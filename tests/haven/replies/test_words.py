"""The committed word lists have the properties docs/replies-v1.md section 1.2 promises.

Written from the spec, not from scripts/make_receipt_words.py: a list edited
by hand, or made by a changed script, must still pass these.
"""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
from collections import Counter
from types import ModuleType

import pytest

from haven.replies import LANGUAGES, word_list
from haven.replies.words import parse_list
from tests.repo import REPO

WORDS_DIR = REPO / "haven" / "replies" / "words"
ALPHABETS = {
    "en": set("abcdefghijklmnopqrstuvwxyz"),
    "ru": set("абвгдежзийклмнопрстуфхцчшщыьэюя"),
    "uk": set("абвгдеєжзиіїйклмнопрстуфхцчшщьюя"),
}


def one_slip_away(words: list[str]) -> list[tuple[str, str]]:
    """Pairs of words one typing slip apart: a letter changed, added or dropped, or two neighbours swapped."""
    present = set(words)
    wildcards: Counter[str] = Counter()
    for word in words:
        for i in range(len(word)):
            wildcards[word[:i] + "?" + word[i + 1 :]] += 1
    pairs = []
    for word in words:
        for i in range(len(word)):
            dropped = word[:i] + word[i + 1 :]
            if dropped in present:
                pairs.append((word, dropped))
            if wildcards[word[:i] + "?" + word[i + 1 :]] > 1:
                pairs.append((word, word[:i] + "?" + word[i + 1 :]))
        for i in range(len(word) - 1):
            swapped = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
            if swapped != word and swapped in present:
                pairs.append((word, swapped))
    return pairs


def test_the_languages_are_the_three_lists_in_the_repository() -> None:
    assert (
        sorted(p.stem for p in WORDS_DIR.glob("*.txt")) == sorted(LANGUAGES) == ["en", "ru", "uk"]
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_file_is_2048_lines_in_code_point_order(language: str) -> None:
    raw = (WORDS_DIR / f"{language}.txt").read_bytes()
    assert raw.endswith(b"\n") and b"\r" not in raw
    words = raw.decode("utf-8").split("\n")[:-1]
    assert len(words) == 2048
    assert words == sorted(set(words))
    assert list(word_list(language)) == words


@pytest.mark.parametrize("language", LANGUAGES)
def test_words_are_short_lower_case_and_in_the_alphabet(language: str) -> None:
    for word in word_list(language):
        assert 4 <= len(word) <= 8, word
        assert set(word) <= ALPHABETS[language], word


@pytest.mark.parametrize("language", LANGUAGES)
def test_first_four_letters_name_one_word_and_no_word_is_a_prefix(language: str) -> None:
    words = word_list(language)
    prefixes = Counter(word[:4] for word in words)
    assert [p for p, n in prefixes.items() if n > 1] == []
    ordered = sorted(words)
    assert [(a, b) for a, b in itertools.pairwise(ordered) if b.startswith(a)] == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_word_is_one_typing_slip_from_another(language: str) -> None:
    assert one_slip_away(list(word_list(language))) == []


def test_one_slip_check_finds_each_kind_of_slip() -> None:
    # The property test above must be able to fail.
    assert one_slip_away(["code", "coda"])
    assert one_slip_away(["code", "codes"])
    assert one_slip_away(["code", "cdoe"])
    assert one_slip_away(["code", "lake"]) == []


def test_russian_and_ukrainian_lists_share_no_word() -> None:
    # So a code names its own list, and parsing needs no language setting.
    assert set(word_list("ru")) & set(word_list("uk")) == set()


def test_spec_names_each_list_by_its_digest() -> None:
    # A changed list is a new version (docs/replies-v1.md section 1.2): the
    # spec's table must change with it.
    spec = (REPO / "docs" / "replies-v1.md").read_text(encoding="utf-8")
    for language in LANGUAGES:
        digest = hashlib.sha256((WORDS_DIR / f"{language}.txt").read_bytes()).hexdigest()
        assert f"| `{language}.txt` | `{digest}` |" in spec


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_list_with_other_bytes_is_refused(language: str) -> None:
    # Each still has 2048 distinct lines, yet names other indices than the
    # spec's list, so codes made from it would open other mailboxes.
    raw = (WORDS_DIR / f"{language}.txt").read_bytes()
    words = raw.decode("utf-8").split("\n")[:-1]
    assert len(parse_list(language, raw)) == 2048
    reordered = [words[1], words[0], *words[2:]]
    for damaged in (
        ("\n".join(reordered) + "\n").encode("utf-8"),
        raw.replace(b"\n", b"\r\n"),
        b"\xef\xbb\xbf" + raw,
    ):
        with pytest.raises(RuntimeError, match=f"list {language} is damaged"):
            parse_list(language, damaged)


def _generator() -> ModuleType:
    # The script's strike-outs need only the standard library to load.
    spec = importlib.util.spec_from_file_location(
        "make_receipt_words", REPO / "scripts" / "make_receipt_words.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_word_is_one_the_generator_strikes(language: str) -> None:
    # A word struck by topic in either Cyrillic list must be gone from both,
    # spelt the Russian or the Ukrainian way (либерал/ліберал, прицел/приціл):
    # a code found on paper must not read as war, flight, politics or crime.
    blocked = _generator()._blocked
    assert [w for w in word_list(language) if blocked(w, language)] == []


def test_strikes_reach_the_other_cyrillic_spelling() -> None:
    blocked = _generator()._blocked
    for ru, uk in (
        ("либерал", "ліберал"),
        ("прицел", "приціл"),
        ("олигарх", "олігарх"),
        ("нация", "нація"),
    ):
        assert blocked(ru, "ru") and blocked(uk, "uk") and blocked(ru, "uk") and blocked(uk, "ru")
