"""Regenerate tests/envelope/vectors/envelope-v1.json (decrypt-side test vectors).

Run from the repository root: `.venv/bin/python -m tests.envelope.make_vectors`.
Sealing is randomised, so every run gives different bytes; the committed
file is the reference that both implementations must open. The seeds below
are test fixtures, published on purpose: never use them for a real partner.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from haven.envelope import MAX_ENVELOPE_BYTES, Labels, PrivateKey, inspect, seal
from haven.envelope.layout import STANZA_BYTES
from haven.envelope.padding import LENGTH_PREFIX
from haven.envelope.sealing import _seal_padded

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

    ordered = sorted(pubs, key=lambda k: k.kid)
    padded = len(CONTENT).to_bytes(LENGTH_PREFIX, "big") + CONTENT
    nonzero = padded + b"\x01" + bytes(4096 - len(padded) - 1)
    noncanonical = padded + bytes(16384 - len(padded))
    key = os.urandom(32)
    nonzero_padding = _seal_padded(nonzero, DESERTION, ordered, False, key)
    non_canonical = _seal_padded(noncanonical, DESERTION, ordered, False, os.urandom(32))

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
