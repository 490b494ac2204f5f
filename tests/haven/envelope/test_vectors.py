"""The committed decrypt-side vectors open, and every named negative case fails."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, hpke
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from haven.envelope import EnvelopeFormatError, OpenError, PrivateKey, inspect, open_envelope
from haven.envelope.padding import pad
from schemas.content import ContentError, content_from_json_bytes
from tests.haven.envelope.conftest import VECTORS_PATH
from tests.haven.envelope.make_vectors import build
from tests.repo import REPO

SPEC = REPO / "docs" / "envelope-v1.md"
# Written from the spec's text, not imported from haven.envelope: these
# tests check the vectors against the document an implementer reads.
HPKE_SUITE = hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
STANZA_BYTES = 32 + 1120 + 48

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


def test_generator_recomputes_the_committed_file_byte_for_byte(vectors: dict[str, Any]) -> None:
    # Every derived field (public keys, kids, intermediate values) follows
    # from the seeds and the committed envelopes, and no committed envelope
    # was resealed: implementations checked against the old bytes stay checked.
    assert json.dumps(build(vectors), indent=1) + "\n" == VECTORS_PATH.read_text(encoding="utf-8")
    assert VECTORS_PATH.stat().st_size < 1_000_000


def _hkdf(file_key: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"", info=info).derive(file_key)


@pytest.mark.parametrize("index", range(4))
def test_keys_and_intermediate_values_recompute_as_the_spec_says(
    vectors: dict[str, Any], index: int
) -> None:
    case = vectors["positive"][index]
    envelope = bytes.fromhex(case["envelope"])
    mid = case["intermediate"]
    for seed, public_b64, kid in zip(case["seeds"], case["public_keys"], case["kids"], strict=True):
        public = base64.b64decode(public_b64, validate=True)
        assert public == PrivateKey.from_seed(bytes.fromhex(seed)).public_key.to_bytes()
        assert hashlib.sha256(public).hexdigest() == kid
    prefix = bytes.fromhex(mid["prefix"])
    assert envelope.startswith(prefix)
    assert bytes.fromhex(mid["stanza_info"]) == b"haven/v1 file key\x00" + prefix
    count = envelope[len(prefix)]
    header_end = len(prefix) + 1 + count * STANZA_BYTES + 32
    header, body = envelope[:header_end], envelope[header_end:]
    file_key = bytes.fromhex(mid["file_key"])
    stanzas = {
        header[at : at + 32]: header[at + 32 : at + STANZA_BYTES]
        for at in range(len(prefix) + 1, header_end - 32, STANZA_BYTES)
    }
    for seed in case["seeds"]:
        key = PrivateKey.from_seed(bytes.fromhex(seed))
        opened = HPKE_SUITE.decrypt(
            stanzas[key.kid], key.hpke_key, info=bytes.fromhex(mid["stanza_info"])
        )
        assert opened == file_key
    assert _hkdf(file_key, b"haven/v1 key commitment").hex() == mid["commitment"]
    assert header[-32:].hex() == mid["commitment"]
    body_key = _hkdf(file_key, b"haven/v1 body")
    assert body_key.hex() == mid["body_key"]
    padded = AESGCM(body_key).decrypt(bytes(12), body, header)
    assert len(padded) == mid["bucket"]
    assert padded == pad(bytes.fromhex(case["content"]))


def test_the_content_is_request_flag_is_true_exactly_for_valid_requests(
    vectors: dict[str, Any],
) -> None:
    flags = {}
    for case in vectors["positive"]:
        try:
            content = content_from_json_bytes(bytes.fromhex(case["content"]))
            valid = content.category == case["labels"]["category"]
        except ContentError:
            valid = False
        assert case["content_is_request"] is valid, case["name"]
        flags[case["name"]] = valid
    assert any(flags.values()) and not all(flags.values())


def _paths(value: Any, prefix: str = "") -> set[str]:
    """Every field of the vectors file, lists written `[]` and labels as one field."""
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return set().union(*(_paths(item, prefix.removesuffix(".") + "[].") for item in value))
    if isinstance(value, dict) and not prefix.endswith("labels."):
        found: set[str] = set()
        for key, item in value.items():
            if key == "labels":
                found.add(prefix + key)
            else:
                found |= _paths(item, prefix + key + ".") or {prefix + key}
        return found
    return set()


def test_the_vectors_file_has_the_layout_the_spec_documents(vectors: dict[str, Any]) -> None:
    spec = SPEC.read_text(encoding="utf-8")
    start = spec.index("### Layout of the vectors file")
    section = spec[start : spec.index("The `negative` list names", start)]
    documented = set(re.findall(r"^\| `([a-z_.\[\]]+)` \|", section, flags=re.MULTILINE))
    assert documented == _paths(vectors)
