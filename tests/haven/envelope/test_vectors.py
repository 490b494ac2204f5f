"""The committed decrypt-side vectors open, and every named negative case fails."""

from __future__ import annotations

from typing import Any

import pytest

from haven.envelope import EnvelopeFormatError, OpenError, PrivateKey, inspect, open_envelope
from tests.haven.envelope.conftest import VECTORS_PATH
from tests.haven.envelope.make_vectors import build

NEGATIVE_NAMES = {
    "truncated",
    "wrong_version",
    "unknown_flag",
    "oversize",
    "bad_label",
    "unsorted_kids",
    "relabelled_category",
    "swapped_stanza",
    "dropped_stanza",
    "flipped_body_byte",
    "wrong_key",
    "nonzero_padding",
    "non_canonical_bucket",
    "server_sealed_toggled",
    "added_stanza",
    "duplicate_kid",
    "no_recipients",
    "empty_label",
    "body_not_a_bucket",
    "length_prefix_too_large",
    "commitment_mismatch",
}


def test_every_named_negative_case_is_present(vectors: dict[str, Any]) -> None:
    assert {case["name"] for case in vectors["negative"]} == NEGATIVE_NAMES


def test_positive_vectors_open_for_each_recipient(vectors: dict[str, Any]) -> None:
    assert len(vectors["positive"]) >= 3
    for case in vectors["positive"]:
        envelope = bytes.fromhex(case["envelope"])
        for seed in case["seeds"]:
            opened = open_envelope(envelope, [PrivateKey.from_seed(bytes.fromhex(seed))])
            assert opened.content == bytes.fromhex(case["content"]), case["name"]
            assert opened.labels.__dict__ == case["labels"], case["name"]
            assert opened.server_sealed is case["server_sealed"], case["name"]


@pytest.mark.parametrize("name", sorted(NEGATIVE_NAMES))
def test_negative_vector_fails(vectors: dict[str, Any], name: str) -> None:
    (case,) = [c for c in vectors["negative"] if c["name"] == name]
    envelope = bytes.fromhex(case["envelope"])
    keys = [PrivateKey.from_seed(bytes.fromhex(s)) for s in case["seeds"]]
    if case["parse_fails"]:
        with pytest.raises(EnvelopeFormatError):
            inspect(envelope)
    else:
        inspect(envelope)
    for key in keys:
        with pytest.raises(OpenError) as failure:
            open_envelope(envelope, [key])
        # One opaque error: same message, no chained cause that could tell why.
        assert str(failure.value) == OpenError.MESSAGE
        assert failure.value.__cause__ is None


def test_generator_still_produces_the_same_shape(vectors: dict[str, Any]) -> None:
    fresh = build()
    assert [c["name"] for c in fresh["positive"]] == [c["name"] for c in vectors["positive"]]
    assert [(c["name"], c["parse_fails"]) for c in fresh["negative"]] == [
        (c["name"], c["parse_fails"]) for c in vectors["negative"]
    ]
    assert VECTORS_PATH.stat().st_size < 1_000_000
