"""Regenerate tests/haven/envelope/vectors/envelope-v1.json (decrypt-side test vectors).

Run from the repository root: `.venv/bin/python -m tests.haven.envelope.make_vectors`.
Sealing is randomised, so every run gives different bytes; the committed
file is the reference that both implementations must open. The seeds below
are test fixtures, published on purpose: never use them for a real partner.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from haven.envelope import MAX_ENVELOPE_BYTES, Labels, PrivateKey, PublicKey, inspect, seal
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


def _positive(
    name: str, seeds: list[bytes], labels: Labels, content: bytes, server: bool
) -> dict[str, Any]:
    keys = [PrivateKey.from_seed(s).public_key for s in seeds]
    envelope = seal(content, labels, keys, server_sealed=server)
    return {
        "name": name,
        "seeds": [s.hex() for s in seeds],
        "envelope": envelope.hex(),
        "labels": labels.__dict__,
        "server_sealed": server,
        "content": content.hex(),
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


def build() -> dict[str, Any]:
    two = TEST_ONLY_SEEDS[:2]
    pubs = [PrivateKey.from_seed(s).public_key for s in two]
    russian = "Нужна помощь юриста, я за границей. Прошу связаться через Signal.".encode()
    positive = [
        _positive("two_recipients_smallest_bucket", two, DESERTION, CONTENT, False),
        _positive(
            "server_sealed_one_recipient",
            TEST_ONLY_SEEDS[2:],
            Labels("legal_aid", "abroad-eu", "uk", "normal"),
            russian * 60,
            True,
        ),
        _positive(
            "three_recipients_largest_bucket",
            TEST_ONLY_SEEDS,
            Labels("asylum", "abroad-caucasus", "en", "normal"),
            b"x" * 20000,
            False,
        ),
    ]
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
    return {
        "version": 1,
        "spec": "docs/envelope-v1.md",
        "note": "Decrypt-side vectors. Seeds are public test fixtures, never real keys.",
        "positive": positive,
        "negative": negative,
    }


if __name__ == "__main__":
    VECTORS.write_text(json.dumps(build(), indent=1) + "\n", encoding="utf-8")
