"""Reading a thread as `haven status` does: order, current status, and what is never shown.

In-process, with real keys and a real signed-then-verified directory; the
end-to-end test (test_two_way.py) runs the same through the intake.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from haven.cli.requester import read_thread
from haven.directory import empty_directory, with_partner
from haven.envelope import PrivateKey
from haven.replies import (
    PartnerMessage,
    ReplyKeys,
    SigningKey,
    Thread,
    derive,
    generate,
    write_message,
)
from schemas.directory import Directory
from tests.worker.conftest import partner_entry

REQUEST = "ab" * 32


@pytest.fixture(scope="module")
def keys() -> ReplyKeys:
    return derive(generate("ru", lambda n: bytes(range(1, n + 1))))


@pytest.fixture(scope="module")
def partners() -> dict[str, PrivateKey]:
    return {name: PrivateKey.generate() for name in ("alpha", "bravo")}


@pytest.fixture(scope="module")
def directory(partners: dict[str, PrivateKey]) -> Directory:
    now = datetime.now(UTC)
    d = empty_directory("haven-test", now=now)
    for name, key in partners.items():
        d = with_partner(d, partner_entry(name, key), now=now)
    return d


def wire(
    keys: ReplyKeys,
    partner: str,
    signer: PrivateKey,
    sent_at: str,
    *,
    kind: str = "reply",
    state: str | None = None,
    text: str = "text",
    mailbox_id: bytes | None = None,
) -> dict[str, str]:
    message = PartnerMessage(
        kind=kind,
        partner=partner,
        mailbox_id=mailbox_id or keys.mailbox_id,
        request=REQUEST,
        state=state,
        text=text,
        sent_at=sent_at,
    )
    return write_message(
        message, keys.reply_key.public_key, SigningKey.from_partner_key(signer)
    ).to_json()


def test_messages_in_sent_at_order_ties_in_stored_order_and_the_last_status_is_current(
    keys: ReplyKeys, partners: dict[str, PrivateKey], directory: Directory
) -> None:
    alpha = partners["alpha"]
    stored = [
        wire(keys, "alpha", alpha, "2026-11-30T10:00:05Z", text="second"),
        wire(keys, "alpha", alpha, "2026-11-30T10:00:00Z", kind="status", state="received", text=""),
        wire(keys, "alpha", alpha, "2026-11-30T10:00:05Z", kind="status", state="need_info"),
        wire(keys, "bravo", partners["bravo"], "2026-11-30T09:00:00Z", kind="status", state="closed"),
    ]  # fmt: skip
    thread = read_thread(stored, keys, directory)
    assert [(m.partner, m.kind, m.state) for m in thread.messages] == [
        ("bravo", "status", "closed"),
        ("alpha", "status", "received"),
        ("alpha", "reply", None),
        ("alpha", "status", "need_info"),
    ]
    assert thread.state == "need_info"
    assert thread.partners() == ("bravo", "alpha")  # the latest writer last
    assert thread.refused == 0


def test_what_does_not_verify_or_open_is_counted_never_shown(
    keys: ReplyKeys, partners: dict[str, PrivateKey], directory: Directory
) -> None:
    alpha = partners["alpha"]
    other_mailbox = derive(generate("ru", lambda n: bytes(range(50, 50 + n)))).mailbox_id
    stored: list[object] = [
        wire(keys, "alpha", alpha, "2026-11-30T10:00:00Z", text="genuine"),
        # Claimed for alpha, signed by a key the directory does not list.
        wire(keys, "alpha", PrivateKey.generate(), "2026-11-30T10:00:01Z", text="forged"),
        # Signed by bravo but claimed for alpha.
        {**wire(keys, "bravo", partners["bravo"], "2026-11-30T10:00:02Z"), "partner": "alpha"},
        # A partner the directory does not list.
        wire(keys, "zulu", PrivateKey.generate(), "2026-11-30T10:00:03Z"),
        # Genuinely alpha's, for another mailbox, moved here.
        wire(keys, "alpha", alpha, "2026-11-30T10:00:04Z", mailbox_id=other_mailbox),
        {"partner": "alpha"},
        "not a message",
    ]
    thread = read_thread(stored, keys, directory)
    assert [m.text for m in thread.messages] == ["genuine"]
    assert thread.refused == 6
    assert thread.state is None


def test_an_empty_thread_has_no_status() -> None:
    assert Thread((), 0).state is None
    assert Thread((), 0).partners() == ()
