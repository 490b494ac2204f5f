"""Regenerate tests/haven/envelope/vectors/envelope-v1.json (decrypt-side test vectors).

Run from the repository root: `.venv/bin/python -m tests.haven.envelope.make_vectors`.
Sealing is randomised, so the generator is deterministic in another way: it
keeps every envelope of the committed file that still opens to what its case
says (so implementations already checked against those bytes stay checked),
seals afresh only a case that is new or changed, and derives every other
field (public keys, kids, file key, commitment, body key) from the seeds and
the envelope. Run on the committed file it rewrites the same bytes, which
test_vectors.py checks. The layout is documented in docs/envelope-v1.md
section 12. The seeds below are test fixtures, published on purpose: never
use them for a real partner.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any, NamedTuple

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from haven.envelope import (
    MAX_ENVELOPE_BYTES,
    Labels,
    OpenError,
    PrivateKey,
    PublicKey,
    inspect,
    open_envelope,
    seal,
)
from haven.envelope.layout import STANZA_BYTES, build_prefix
from haven.envelope.padding import LENGTH_PREFIX
from haven.envelope.padding import pad as pad_plain
from haven.envelope.sealing import BODY_NONCE, STANZA_INFO, SUITE, _body_key, _commitment

VECTORS = Path(__file__).parent / "vectors" / "envelope-v1.json"

TEST_ONLY_SEEDS = [bytes([i]) * 32 for i in (0x11, 0x22, 0x33)]
TEST_ONLY_OUTSIDER_SEED = bytes([0x44]) * 32

DESERTION = Labels("desertion", "ru-central", "ru", "urgent")
CONTENT = json.dumps(
    {
        "v": 1,
        "category": "desertion",
        "fields": {"status": "mobilised", "situation": "abroad", "needs": ["legal", "shelter"]},
    },
    ensure_ascii=False,
    sort_keys=True,
    separators=(",", ":"),
).encode("utf-8")


# A valid desertion request (schemas/content.py), in its canonical form: the
# one positive vector that `haven open` also accepts at the content layer.
REQUEST_DOCUMENT = json.dumps(
    {
        "v": 1,
        "category": "desertion",
        "fields": {
            "status": "mobilised",
            "situation": "abroad",
            "criminal_case": "unknown",
            "wanted_listing": "no",
            "passports_held": ["foreign_passport"],
            "current_country": "KZ",
            "needs": ["legal", "shelter"],
            "contact_channel": "signal",
            "contact_handle": "test-vector.01",
        },
    },
    ensure_ascii=False,
    sort_keys=True,
    separators=(",", ":"),
).encode("utf-8")


class Case(NamedTuple):
    """What a positive vector must open to; its envelope is sealed or kept."""

    name: str
    seeds: list[bytes]
    labels: Labels
    content: bytes
    server_sealed: bool
    content_is_request: bool


def _opens_as(envelope: bytes, case: Case) -> bool:
    for seed in case.seeds:
        try:
            opened = open_envelope(envelope, [PrivateKey.from_seed(seed)])
        except OpenError:
            return False
        if (opened.labels, opened.server_sealed, opened.content) != (
            case.labels,
            case.server_sealed,
            case.content,
        ):
            return False
    return True


def intermediate(envelope: bytes, seeds: list[bytes]) -> dict[str, Any]:
    """The values an opener computes on its way (section 8), for implementers to compare."""
    header = inspect(envelope)
    info = STANZA_INFO + header.prefix
    file_keys = set()
    for seed in seeds:
        key = PrivateKey.from_seed(seed)
        (stanza,) = [s for s in header.stanzas if s.kid == key.kid]
        file_keys.add(SUITE.decrypt(stanza.enc + stanza.wrapped_key, key.hpke_key, info=info))
    (file_key,) = file_keys
    return {
        "prefix": header.prefix.hex(),
        "stanza_info": info.hex(),
        "file_key": file_key.hex(),
        "commitment": _commitment(file_key).hex(),
        "body_key": _body_key(file_key).hex(),
        "bucket": header.bucket,
    }


def _positive(case: Case, kept: dict[str, Any] | None) -> dict[str, Any]:
    envelope = bytes.fromhex(kept["envelope"]) if kept else b""
    if not (kept and _opens_as(envelope, case)):
        keys = [PrivateKey.from_seed(s).public_key for s in case.seeds]
        envelope = seal(case.content, case.labels, keys, server_sealed=case.server_sealed)
    publics = [PrivateKey.from_seed(s).public_key for s in case.seeds]
    return {
        "name": case.name,
        "seeds": [s.hex() for s in case.seeds],
        "public_keys": [base64.b64encode(k.to_bytes()).decode("ascii") for k in publics],
        "kids": [k.kid_hex for k in publics],
        "envelope": envelope.hex(),
        "labels": case.labels.__dict__,
        "server_sealed": case.server_sealed,
        "content": case.content.hex(),
        "content_is_request": case.content_is_request,
        "intermediate": intermediate(envelope, case.seeds),
    }


def _negative(name: str, envelope: bytes, seeds: list[bytes], parse_fails: bool) -> dict[str, Any]:
    return {
        "name": name,
        "envelope": envelope.hex(),
        "seeds": [s.hex() for s in seeds],
        "parse_fails": parse_fails,
    }


def _assemble(
    padded: bytes,
    labels: Labels,
    recipients: list[PublicKey],
    *,
    commitment_key: bytes | None = None,
) -> bytes:
    """Seal by hand from parts, to make envelopes a correct sealer never would."""
    file_key = os.urandom(32)
    prefix = build_prefix(labels, server_sealed=False)
    header = bytearray(prefix) + bytes([len(recipients)])
    for key in sorted(recipients, key=lambda k: k.kid):
        header += key.kid + SUITE.encrypt(file_key, key.hpke_key, info=STANZA_INFO + prefix)
    header += _commitment(commitment_key or file_key)
    return bytes(header) + AESGCM(_body_key(file_key)).encrypt(BODY_NONCE, padded, bytes(header))


def _stanza_span(envelope: bytes, index: int) -> slice:
    start = len(inspect(envelope).prefix) + 1 + index * STANZA_BYTES
    return slice(start, start + STANZA_BYTES)


def _cases() -> list[Case]:
    two = TEST_ONLY_SEEDS[:2]
    russian = "Нужна помощь юриста, я за границей. Прошу связаться через Signal.".encode()
    return [
        Case("two_recipients_smallest_bucket", two, DESERTION, CONTENT, False, False),
        Case(
            "server_sealed_one_recipient",
            TEST_ONLY_SEEDS[2:],
            Labels("legal_aid", "abroad-eu", "uk", "normal"),
            russian * 60,
            True,
            False,
        ),
        Case(
            "three_recipients_largest_bucket",
            TEST_ONLY_SEEDS,
            Labels("asylum", "abroad-caucasus", "en", "normal"),
            b"x" * 20000,
            False,
            False,
        ),
        Case("request_document_two_recipients", two, DESERTION, REQUEST_DOCUMENT, False, True),
    ]


def build(previous: dict[str, Any] | None = None) -> dict[str, Any]:
    """The vectors file; envelopes of `previous` (the committed file) are kept where they still hold."""
    kept = {c["name"]: c for c in previous["positive"]} if previous else {}
    positive = [_positive(case, kept.get(case.name)) for case in _cases()]
    negative = _negatives()
    if previous and [c["name"] for c in previous["negative"]] == [c["name"] for c in negative]:
        # Negative envelopes carry no derived fields: the committed bytes stay.
        negative = previous["negative"]
    return {
        "version": 1,
        "spec": "docs/envelope-v1.md",
        "note": "Decrypt-side vectors. Seeds are public test fixtures, never real keys.",
        "positive": positive,
        "negative": negative,
    }


def _negatives() -> list[dict[str, Any]]:
    two = TEST_ONLY_SEEDS[:2]
    pubs = [PrivateKey.from_seed(s).public_key for s in two]
    base = seal(CONTENT, DESERTION, pubs)
    other = seal(CONTENT, DESERTION, pubs)
    header = inspect(base)
    cut = len(header.prefix) + 1

    truncated = base[:-1]
    wrong_version = base[:3] + b"\x02" + base[4:]
    unknown_flag = base[:4] + b"\x02" + base[5:]
    oversize = base + bytes(MAX_ENVELOPE_BYTES + 1 - len(base))
    bad_label = base.replace(b"desertion", b"Desertion", 1)
    first, second = base[_stanza_span(base, 0)], base[_stanza_span(base, 1)]
    unsorted = base[:cut] + second + first + base[cut + 2 * STANZA_BYTES :]
    relabelled = base.replace(b"desertion", b"legal_aid", 1)
    swapped = base[:cut] + other[_stanza_span(other, 0)] + base[cut + STANZA_BYTES :]
    dropped = base[: cut - 1] + b"\x01" + base[cut + STANZA_BYTES :]
    flipped = base[:-20] + bytes([base[-20] ^ 0x01]) + base[-19:]

    padded = len(CONTENT).to_bytes(LENGTH_PREFIX, "big") + CONTENT
    nonzero_padding = _assemble(padded + b"\x01" + bytes(4096 - len(padded) - 1), DESERTION, pubs)
    non_canonical = _assemble(padded + bytes(16384 - len(padded)), DESERTION, pubs)
    too_long_prefix = _assemble(
        (4093).to_bytes(LENGTH_PREFIX, "big") + bytes(4092), DESERTION, pubs
    )
    commitment_mismatch = _assemble(
        pad_plain(CONTENT), DESERTION, pubs, commitment_key=os.urandom(32)
    )

    third = PrivateKey.from_seed(TEST_ONLY_SEEDS[2]).public_key
    with_third = seal(CONTENT, DESERTION, [*pubs, third])
    stanzas = sorted(
        [
            base[_stanza_span(base, 0)],
            base[_stanza_span(base, 1)],
            with_third[
                _stanza_span(with_third, sorted([*pubs, third], key=lambda k: k.kid).index(third))
            ],
        ],
        key=lambda stanza: stanza[:32],
    )
    added = base[: cut - 1] + b"\x03" + b"".join(stanzas) + base[cut + 2 * STANZA_BYTES :]
    duplicate = base[: cut - 1] + b"\x03" + first + first + base[cut + STANZA_BYTES :]
    no_recipients = base[: cut - 1] + b"\x00" + base[cut:]
    label_at = 5 + 1 + len(b"desertion")
    empty_label = base[:label_at] + b"\x00" + base[label_at + 1 + len(b"ru-central") :]
    toggled = base[:4] + b"\x01" + base[5:]
    not_a_bucket = base + b"\x00"

    negative = [
        _negative("truncated", truncated, two, True),
        _negative("wrong_version", wrong_version, two, True),
        _negative("unknown_flag", unknown_flag, two, True),
        _negative("oversize", oversize, two, True),
        _negative("bad_label", bad_label, two, True),
        _negative("unsorted_kids", unsorted, two, True),
        _negative("relabelled_category", relabelled, two, False),
        _negative("swapped_stanza", swapped, two, False),
        _negative("dropped_stanza", dropped, two, False),
        _negative("flipped_body_byte", flipped, two, False),
        _negative("wrong_key", base, [TEST_ONLY_OUTSIDER_SEED], False),
        _negative("nonzero_padding", nonzero_padding, two, False),
        _negative("non_canonical_bucket", non_canonical, two, False),
        _negative("server_sealed_toggled", toggled, two, False),
        _negative("added_stanza", added, two, False),
        _negative("duplicate_kid", duplicate, two, True),
        _negative("no_recipients", no_recipients, two, True),
        _negative("empty_label", empty_label, two, True),
        _negative("body_not_a_bucket", not_a_bucket, two, True),
        _negative("length_prefix_too_large", too_long_prefix, two, False),
        _negative("commitment_mismatch", commitment_mismatch, two, False),
    ]
    return negative


if __name__ == "__main__":
    committed = json.loads(VECTORS.read_text(encoding="utf-8")) if VECTORS.exists() else None
    VECTORS.write_text(json.dumps(build(committed), indent=1) + "\n", encoding="utf-8")
