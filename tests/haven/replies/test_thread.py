"""Reading a whole thread (haven.replies.read_thread) over the message vectors of section 7."""

from __future__ import annotations

import base64
import json
from typing import Any

from haven.envelope import PrivateKey
from haven.replies import PartnerMessage, SigningKey, Thread, read_thread, write_message
from tests.repo import REPO

VECTORS: dict[str, Any] = json.loads(
    (REPO / "tests/haven/replies/vectors/replies-v1-messages.json").read_text(encoding="utf-8")
)
MAILBOX = base64.b64decode(VECTORS["messages"][0]["mailbox_id"])
REPLY_KEY = PrivateKey.from_seed(bytes.fromhex(VECTORS["requester"]["reply_seed"]))
# The directory's signing keys of each vector partner.
SIGNING = {
    p["id"]: tuple(base64.b64decode(k["signing_key"]) for k in p["keys"])
    for p in VECTORS["partners"]
}
# Refused for a directory listing no signing key; this one lists them.
CASES = [m for m in VECTORS["messages"] if m["name"] != "no_signing_key"]


def keys_of(partner: str) -> tuple[bytes, ...]:
    return SIGNING.get(partner, ())


def test_only_what_verifies_and_opens_is_read_and_the_rest_is_counted() -> None:
    thread = read_thread([m["wire"] for m in CASES], MAILBOX, REPLY_KEY, keys_of)
    good = [m for m in CASES if m["reason"] is None]
    assert [m.text for m in thread.messages] == [m["message"]["text"] for m in good]
    assert thread.refused == len(CASES) - len(good) > 20
    # The current status is the last status message's; a follow-up goes to
    # the latest writer (stored order within one second).
    assert thread.state == "in_progress"
    assert thread.latest_partner == "south-aid"
    assert thread.partners() == ("north-legal", "south-aid")


def test_anything_that_is_not_a_message_is_refused_not_raised() -> None:
    forged = next(m for m in VECTORS["messages"] if m["name"] == "wrong_key")
    thread = read_thread(
        [forged["wire"], None, "text", [], {"partner": 1}], MAILBOX, REPLY_KEY, keys_of
    )
    assert thread == Thread((), 5)
    assert thread.state is None
    assert thread.latest_partner is None


def test_a_wrong_code_reads_nothing() -> None:
    other = PrivateKey.generate()
    thread = read_thread([m["wire"] for m in CASES], bytes(32), other, keys_of)
    assert thread.messages == ()
    assert thread.refused == len(CASES)


def test_messages_are_shown_in_sent_at_order() -> None:
    good = [m for m in CASES if m["reason"] is None]
    thread = read_thread([m["wire"] for m in reversed(good)], MAILBOX, REPLY_KEY, keys_of)
    # One second for all: the stable sort keeps the stored order.
    assert [m.text for m in thread.messages] == [m["message"]["text"] for m in reversed(good)]


def test_a_later_message_stored_first_is_read_last() -> None:
    partner = VECTORS["partners"][0]
    signer = SigningKey.from_partner_key(
        PrivateKey.from_seed(bytes.fromhex(partner["keys"][0]["seed"]))
    )

    def wire(text: str, minute: int) -> dict[str, str]:
        message = PartnerMessage(
            kind="reply",
            partner=partner["id"],
            mailbox_id=MAILBOX,
            request="ab" * 32,
            state=None,
            text=text,
            sent_at=f"2026-11-30T08:{minute:02d}:00Z",
        )
        return write_message(message, REPLY_KEY.public_key, signer).to_json()

    thread = read_thread([wire("later", 30), wire("earlier", 5)], MAILBOX, REPLY_KEY, keys_of)
    assert [m.text for m in thread.messages] == ["earlier", "later"]
