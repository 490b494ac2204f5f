"""A seized laptop: after requests were pulled and worked on, the inbox folder gives none of them up.

Requests holding a canary string go through the real intake, broker and
router; the partner pulls them, a member writes a note and sends a reply
that repeat the canary. Then every byte under the inbox folder (the
database and anything SQLite left beside it) is searched for the canary,
its base64 in each of the three alignments, and its hex.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.haven.partner.conftest import Network, fast_router, running_router, verified_loader
from tests.haven.partner.test_replies import (
    Requester,
    answer,
    holder,
    pull_until_taken,
)

pytestmark = pytest.mark.broker

CANARY = "CANARY-seized-laptop-7d41c9-канарейка"


def encodings(secret: str) -> dict[str, bytes]:
    """The secret as bytes, hex, and base64 at each of the three byte alignments."""
    raw = secret.encode("utf-8")
    found = {"utf-8": raw, "hex": raw.hex().encode(), "HEX": raw.hex().upper().encode()}
    for shift in range(3):
        encoded = base64.b64encode(bytes(shift) + raw)
        # Leave out the characters that also encode the padding before and
        # the bytes after: what is left appears wherever the secret does.
        start = -(-shift * 4 // 3)
        found[f"base64+{shift}"] = encoded[start : len(encoded) - 4]
        found[f"base64url+{shift}"] = base64.urlsafe_b64encode(bytes(shift) + raw)[
            start : len(encoded) - 4
        ]
    return found


def every_byte(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file())


def test_the_encodings_find_the_canary_wherever_it_is() -> None:
    # The search itself: each form is found in a text that carries the canary so.
    forms = encodings(CANARY)
    for shift in range(3):
        text = base64.b64encode(b"x" * (shift + 3) + CANARY.encode() + b"tail")
        assert forms[f"base64+{shift}"] in text
        assert forms[f"base64url+{shift}"] in text.replace(b"+", b"-").replace(b"/", b"_")
    assert encodings(CANARY)["hex"] in ("ab" + CANARY.encode().hex()).encode()


def test_a_seized_inbox_holds_no_request_note_or_reply_in_any_readable_form(
    make_network: Callable[..., Network],
) -> None:
    network = make_network()
    requester = Requester()
    document = json.loads(requester.content())
    document["fields"]["message"] = CANARY
    plain = json.loads(requester.content())
    for key in ("reply_key", "mailbox_id", "access_hash"):
        plain.pop(key)
    plain["fields"]["contact_channel"] = "signal"
    plain["fields"]["contact_handle"] = "canary.42"
    plain["fields"]["message"] = CANARY + " (no replies through Haven)"
    with running_router(fast_router(network), verified_loader(network)):
        request_id = network.submit(network.seal(json.dumps(document).encode()))
        other_id = network.submit(network.seal(json.dumps(plain).encode()))
        pull_until_taken(network, request_id, other_id)
    partner = holder(network, request_id)
    inbox = network.open_inbox(partner)
    assert inbox.entry(request_id).content["fields"]["message"] == CANARY
    inbox.record("note", request_id, text=f"called back about {CANARY}")
    reply_file = network.root / "reply.txt"
    reply_file.write_text(f"About {CANARY}: we will call you.")
    sent = answer(network, partner, "reply", request_id, "--text-file", reply_file)
    assert sent.code == 0, sent
    assert any(
        CANARY in str(m.get("text")) for m in network.open_inbox(partner).entry(request_id).sent
    )
    reply_file.unlink()

    for folder in {network.inbox(partner), network.inbox(holder(network, other_id))}:
        data = every_byte(folder)
        assert data, folder
        for name, form in encodings(CANARY).items():
            assert form not in data, f"the canary's {name} is in {folder}"
