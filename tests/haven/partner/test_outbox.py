"""What a partner sends back: built from an inbox entry, sealed to the requester, signed by the partner."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from haven.envelope import PrivateKey, digest
from haven.partner.inbox import FOLLOW_UP, PENDING, Entry, Inbox
from haven.partner.outbox import (
    STATE_NAMES,
    MailboxSettings,
    OutboxError,
    compose,
    thread_of,
)
from haven.replies import (
    STATES,
    MessageRefused,
    SigningKey,
    access_hash,
    check_sealed_form,
    read_message,
    signing_public_key,
)

SENT_AT = "2026-11-30T08:00:00Z"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class Requester:
    """What a requester's device derives from its receipt code (random here: no code needed)."""

    def __init__(self) -> None:
        self.reply_key = PrivateKey.generate()
        self.mailbox_id = os.urandom(32)
        self.access_secret = os.urandom(32)

    def content(self) -> dict[str, object]:
        return {
            "v": 1,
            "category": "desertion",
            "fields": {"contact_channel": "haven_reply"},
            "reply_key": b64(self.reply_key.public_key.to_bytes()),
            "mailbox_id": b64(self.mailbox_id),
            "access_hash": b64(access_hash(self.access_secret)),
        }

    def follow_up_content(self) -> dict[str, object]:
        return {
            "mailbox_id": b64(self.mailbox_id),
            "reply_key": b64(self.reply_key.public_key.to_bytes()),
            "text": "спасибо, вот ещё",
        }


def request_entry(requester: Requester, marker: bytes = b"request") -> Entry:
    routing = {
        "category": "desertion",
        "region": "ru-central",
        "language": "ru",
        "urgency": "normal",
    }
    return Entry(
        digest(marker),
        "2026-11-30T07:00:00Z",
        routing,
        False,
        requester.content(),
        received_status=PENDING,
    )


def follow_up_entry(requester: Requester) -> Entry:
    routing = {"category": "follow_up", "region": "alpha", "language": "ru", "urgency": "normal"}
    return Entry(
        digest(b"follow-up"),
        "2026-11-30T07:30:00Z",
        routing,
        False,
        requester.follow_up_content(),
        kind=FOLLOW_UP,
    )


@pytest.fixture(scope="module")
def partner_key() -> PrivateKey:
    return PrivateKey.generate()


@pytest.mark.parametrize(("typed", "state"), [*STATE_NAMES.items(), ("", None)])
def test_a_reply_or_status_opens_only_with_the_reply_key_and_verifies_for_the_partner(
    typed: str, state: str | None, partner_key: PrivateKey
) -> None:
    requester = Requester()
    entry = request_entry(requester)
    thread = thread_of(entry)
    text = "" if state else "Мы получили ваш запрос.\nНапишем завтра."
    wire = compose(
        entry,
        thread,
        "alpha",
        SigningKey.from_partner_key(partner_key),
        state=state,
        text=text,
        sent_at=SENT_AT,
    )
    check_sealed_form(wire.sealed)
    assert wire.partner == "alpha"
    message = read_message(
        wire, requester.mailbox_id, requester.reply_key, [signing_public_key(partner_key)]
    )
    assert message.kind == ("status" if state else "reply")
    assert message.state == state
    assert message.text == text
    assert message.request == entry.request_id
    assert message.mailbox_id == requester.mailbox_id
    assert message.sent_at == SENT_AT
    assert thread.access_hash == access_hash(requester.access_secret)
    if state:
        assert state in STATES
        assert typed.replace("-", "_") == state
    # Another partner's signing key, or another mailbox, and the device refuses it.
    with pytest.raises(MessageRefused, match="not signed"):
        read_message(
            wire,
            requester.mailbox_id,
            requester.reply_key,
            [signing_public_key(PrivateKey.generate())],
        )
    with pytest.raises(MessageRefused, match="not signed"):
        read_message(wire, os.urandom(32), requester.reply_key, [signing_public_key(partner_key)])


def test_a_follow_up_is_answered_in_its_thread_with_the_request_s_access_hash(
    tmp_path: Path, partner_key: PrivateKey
) -> None:
    requester = Requester()
    inbox = Inbox(tmp_path / "inbox").create()
    request = request_entry(requester)
    follow_up = follow_up_entry(requester)
    other = request_entry(Requester(), b"another request")
    for entry in (other, request, follow_up):
        inbox.store(entry, b"sealed", {})
    assert [e.request_id for e in inbox.thread(follow_up.mailbox or "")] == [
        request.request_id,
        follow_up.request_id,
    ]
    thread = thread_of(follow_up, inbox)
    assert thread.mailbox_id == requester.mailbox_id
    assert thread.access_hash == access_hash(requester.access_secret)
    wire = compose(
        follow_up,
        thread,
        "alpha",
        SigningKey.from_partner_key(partner_key),
        state=None,
        text="Ответ на ваше сообщение",
        sent_at=SENT_AT,
    )
    message = read_message(
        wire, requester.mailbox_id, requester.reply_key, [signing_public_key(partner_key)]
    )
    # The message answers the follow-up, not the request.
    assert message.request == follow_up.request_id
    # Without its request in the inbox the follow-up still has its mailbox.
    assert thread_of(follow_up).access_hash is None


def test_nothing_is_sent_for_a_request_without_a_mailbox_or_one_declined() -> None:
    requester = Requester()
    entry = request_entry(requester)
    plain = Entry(entry.request_id, entry.received_at, entry.routing, False, {"v": 1})
    with pytest.raises(OutboxError, match="no reply through Haven"):
        thread_of(plain)
    declined = Entry(
        entry.request_id, entry.received_at, entry.routing, False, {}, declined="no-capacity"
    )
    with pytest.raises(OutboxError, match="declined"):
        thread_of(declined)
    broken = Entry(
        entry.request_id,
        entry.received_at,
        entry.routing,
        False,
        {**requester.content(), "mailbox_id": "not base64"},
    )
    with pytest.raises(OutboxError, match="mailbox_id is not valid") as caught:
        thread_of(broken)
    assert "not base64" not in str(caught.value)


@pytest.mark.parametrize(
    ("state", "text", "expected"),
    [
        (None, "", "text must be 1 to 4000 characters"),
        (None, "тайна " * 700, "text must be 1 to 4000 characters"),
        ("closed", "тайна " * 100, "text must be 0 to 500 characters"),
        (None, "тайна\x1b[2J", "text has a control character"),
    ],
)
def test_a_message_that_breaks_the_rules_names_the_field_never_the_text(
    state: str | None, text: str, expected: str, partner_key: PrivateKey
) -> None:
    requester = Requester()
    entry = request_entry(requester)
    with pytest.raises(OutboxError) as caught:
        compose(
            entry,
            thread_of(entry),
            "alpha",
            SigningKey.from_partner_key(partner_key),
            state=state,
            text=text,
            sent_at=SENT_AT,
        )
    line = str(caught.value)
    assert expected in line
    assert entry.request_id in line
    assert "тайна" not in line
    assert b64(requester.mailbox_id) not in line


@pytest.mark.parametrize(
    "url",
    [
        "ftp://intake.example.org",
        "intake.example.org",
        "https://user:secret@intake.example.org",
        "https://intake.example.org/?mailbox=1",
        "https://intake.example.org/#x",
        "https://",
        "https://intake.example.org:port",
        "http://intake.example.org:0",
    ],
)
def test_an_intake_url_that_is_not_an_http_base_url_is_refused(url: str) -> None:
    with pytest.raises(OutboxError, match="HAVEN_INTAKE_URL must be the intake's http"):
        MailboxSettings.parse(url, "HAVEN_INTAKE_URL")


def test_an_intake_url_keeps_its_path_without_the_final_slash() -> None:
    assert MailboxSettings.parse(" https://h.example/haven/ ", "x").intake_url == (
        "https://h.example/haven"
    )
    assert MailboxSettings.parse("http://127.0.0.1:8080", "x").intake_url == (
        "http://127.0.0.1:8080"
    )
