"""The committed receipt-code vectors hold, in the way docs/replies-v1.md section 1 defines them."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

import pytest
from argon2.low_level import Type, hash_secret_raw
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from haven.envelope import PrivateKey
from haven.replies import CodeError, ReceiptCode, derive, format_code, parse
from tests.haven.replies.make_vectors import VECTORS, build, render
from tests.repo import REPO

NEGATIVE_NAMES = {
    "empty",
    "too_few_words",
    "too_many_words",
    "glued_words",
    "unknown_word",
    "unknown_first_word",
    "word_from_another_list",
    "latin_letter_not_a_look_alike",
    "modifier_apostrophe",
    "english_typo",
    "language_tie",
    "substituted_word",
    "substituted_check_word",
    "swapped_words",
}


@pytest.fixture(scope="module")
def vectors() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(VECTORS.read_text(encoding="utf-8"))
    return data


def test_generator_rewrites_the_committed_file() -> None:
    assert render(build()) == VECTORS.read_text(encoding="utf-8")


def test_every_named_negative_case_is_present(vectors: dict[str, Any]) -> None:
    assert {case["name"] for case in vectors["negative"]} == NEGATIVE_NAMES


def _hkdf(tag: bytes, info: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info.encode("ascii"))
    return hkdf.derive(tag)


@pytest.mark.parametrize("index", range(4))
def test_positive_vector_from_the_spec(vectors: dict[str, Any], index: int) -> None:
    case = vectors["positive"][index]
    params = vectors["argon2id"]
    entropy = bytes.fromhex(case["entropy"])
    # Section 1.3: eight 11-bit big-endian groups of the 88 bits.
    value = int.from_bytes(entropy, "big")
    assert case["indices"][:8] == [(value >> (77 - 11 * i)) & 0x7FF for i in range(8)]
    # Every language's code parses to the same entropy (section 1.6).
    for language, text in case["codes"].items():
        code = parse(text)
        assert (code.entropy, code.language) == (entropy, language)
        assert format_code(code) == text
        assert list(code.indices) == case["indices"]
    # Section 1.6, recomputed with the primitives named there.
    tag = hash_secret_raw(
        secret=entropy,
        salt=params["salt"].encode("ascii"),
        time_cost=params["time_cost"],
        memory_cost=params["memory_kib"],
        parallelism=params["parallelism"],
        hash_len=params["tag_bytes"],
        type=Type.ID,
        version=params["version"],
    )
    assert tag.hex() == case["argon2id_tag"]
    info = vectors["hkdf_info"]
    assert _hkdf(tag, info["mailbox_id"]).hex() == case["mailbox_id"]
    assert _hkdf(tag, info["access_secret"]).hex() == case["access_secret"]
    assert _hkdf(tag, info["reply_seed"]).hex() == case["reply_seed"]
    key = PrivateKey.from_seed(bytes.fromhex(case["reply_seed"]))
    assert base64.b64encode(key.public_key.to_bytes()).decode() == case["reply_public_key"]
    assert key.kid.hex() == case["reply_kid"]
    # And the package gives the same.
    keys = derive(ReceiptCode(entropy, "ru"))
    assert keys.mailbox_id.hex() == case["mailbox_id"]
    assert keys.access_secret.hex() == case["access_secret"]
    assert keys.reply_key.seed.hex() == case["reply_seed"]


def test_parse_cases_read_back_the_code(vectors: dict[str, Any]) -> None:
    assert len(vectors["parse"]) >= 6
    for case in vectors["parse"]:
        assert parse(case["input"]).entropy.hex() == case["entropy"], case["name"]


@pytest.mark.parametrize("name", sorted(NEGATIVE_NAMES))
def test_negative_case_fails_with_its_reason(vectors: dict[str, Any], name: str) -> None:
    (case,) = [c for c in vectors["negative"] if c["name"] == name]
    with pytest.raises(CodeError) as failure:
        parse(case["input"])
    assert (failure.value.reason, failure.value.position) == (case["reason"], case["position"])
    # The message names a position and a reason, never what was typed.
    for word in case["input"].split():
        assert word not in str(failure.value)


def test_spec_lists_every_negative_case() -> None:
    spec = (REPO / "docs" / "replies-v1.md").read_text(encoding="utf-8")
    listed = set(
        re.findall(
            r"^\| `([a-z_]+)` \| .+ \| `(?:word_count|unknown_word|check_failed)` \|", spec, re.M
        )
    )
    assert listed == NEGATIVE_NAMES
