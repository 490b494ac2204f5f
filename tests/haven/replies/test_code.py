"""Receipt codes: generation, the check word, and parsing (docs/replies-v1.md sections 1.3 to 1.5)."""

from __future__ import annotations

import itertools

import pytest

from haven.replies import (
    CODE_WORDS,
    ENTROPY_BYTES,
    LANGUAGES,
    CodeError,
    ReceiptCode,
    check_index,
    derive,
    format_code,
    generate,
    parse,
    word_list,
)
from haven.replies.code import _gf_mul

FIXED = bytes.fromhex("5ac3e0127f9b44d1a6082e")


def test_alpha_has_order_2047_so_the_nine_weights_differ() -> None:
    # 2047 = 23 * 89: x^11 + x^2 + 1 is primitive iff x^2047 = 1 and neither
    # x^(2047/23) nor x^(2047/89) is.
    def power(n: int) -> int:
        result = 1
        for _ in range(n):
            result = _gf_mul(result, 2)
        return result

    assert power(2047) == 1
    assert power(89) != 1 and power(23) != 1


def test_every_single_substitution_and_every_swap_is_caught() -> None:
    indices = list(ReceiptCode(FIXED, "en").indices)
    for position in range(CODE_WORDS):
        for other in range(2048):
            if other == indices[position]:
                continue
            changed = indices.copy()
            changed[position] = other
            assert check_index(changed[:8]) != changed[8], (position, other)
    for a, b in itertools.combinations(range(CODE_WORDS), 2):
        swapped = indices.copy()
        swapped[a], swapped[b] = swapped[b], swapped[a]
        if swapped != indices:
            assert check_index(swapped[:8]) != swapped[8], (a, b)


@pytest.mark.parametrize("language", LANGUAGES)
def test_generated_code_round_trips(language: str) -> None:
    code = generate(language)
    assert len(code.entropy) == ENTROPY_BYTES
    text = format_code(code)
    assert len(text.split(" ")) == CODE_WORDS
    assert parse(text) == code
    assert all(word in word_list(language) for word in code.words)


def test_generation_uses_the_randomness_it_is_given() -> None:
    asked: list[int] = []

    def randbytes(n: int) -> bytes:
        asked.append(n)
        return FIXED

    assert generate("uk", randbytes).entropy == FIXED
    assert asked == [11]
    assert generate("ru").entropy != generate("ru").entropy


def test_language_only_changes_the_words() -> None:
    ru = ReceiptCode(FIXED, "ru")
    en = ru.in_language("en")
    assert ru.words != en.words and ru.indices == en.indices
    assert derive(ru).access_secret == derive(en).access_secret


def test_unknown_word_error_names_the_position() -> None:
    words = list(ReceiptCode(FIXED, "en").words)
    words[5] = "zzzz"
    with pytest.raises(CodeError, match="word 6 ") as failure:
        parse(" ".join(words))
    assert failure.value.position == 6
    assert "zzzz" not in str(failure.value)


def test_bad_entropy_or_language_is_refused() -> None:
    with pytest.raises(ValueError, match="11 bytes"):
        ReceiptCode(bytes(10), "en")
    with pytest.raises(ValueError, match="language"):
        ReceiptCode(FIXED, "de")


def test_reply_keys_repr_shows_no_secret() -> None:
    keys = derive(ReceiptCode(FIXED, "en"))
    shown = repr(keys)
    assert keys.mailbox_id.hex() not in shown and keys.access_secret.hex() not in shown
