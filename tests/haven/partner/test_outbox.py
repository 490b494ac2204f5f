"""What a partner sends back: built from an inbox entry, sealed to the requester, signed by the partner."""

from __future__ import annotations

import base64
import os
import socket
import threading
from pathlib import Path

import pytest

from haven.envelope import PrivateKey, digest
from haven.partner.inbox import FOLLOW_UP, PENDING, Entry
from haven.partner.outbox import (
    STATE_NAMES,
    IntakeUnreachable,
    MailboxSettings,
    OutboxError,
    Thread,
    compose,
    post,
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
from tests.haven.partner.conftest import RequesterKeys, b64
from tests.team_inbox import team_inbox

SENT_AT = "2026-11-30T08:00:00Z"


class Requester(RequesterKeys):
    """A requester whose request is already decrypted, as the partner's inbox holds it."""

    def content(self) -> dict[str, object]:
        return {
            "v": 1,
            "category": "desertion",
            "fields": {"contact_channel": "haven_reply"},
            "reply_key": b64(self.reply_key.public_key.to_bytes()),
            "mailbox_id": b64(self.mailbox_id),
            "access_hash": b64(self.access_hash),
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
    inbox = team_inbox(tmp_path / "inbox", PrivateKey.generate())
    request = request_entry(requester)
    follow_up = follow_up_entry(requester)
    other = request_entry(Requester(), b"another request")
    for entry in (other, request, follow_up):
        inbox.store(entry, b"sealed", {})
    assert [e.request_id for e in inbox.thread(follow_up)] == [
        request.request_id,
        follow_up.request_id,
    ]
    assert [e.request_id for e in inbox.thread(request)] == [
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
    # Without its request in the inbox the follow-up is not answered at all.
    with pytest.raises(OutboxError, match="matches no request"):
        thread_of(follow_up)


def test_a_follow_up_naming_a_requester_s_mailbox_with_another_reply_key_is_never_answered(
    tmp_path: Path, partner_key: PrivateKey
) -> None:
    """The intake knows every mailbox id partners write to, never a reply key.

    A follow-up it made up, naming a requester's mailbox and a reply key of
    its own, must not join that requester's thread, nor be answered: the
    answer would be sealed to the intake's key and stored in the mailbox.
    """
    requester = Requester()
    inbox = team_inbox(tmp_path / "inbox", PrivateKey.generate())
    request = request_entry(requester)
    forger = Requester()
    forger.mailbox_id = requester.mailbox_id
    forged = follow_up_entry(forger)
    for entry in (request, forged):
        inbox.store(entry, b"sealed", {})
    assert inbox.request_of(forged) is None
    assert [e.request_id for e in inbox.thread(request)] == [request.request_id]
    assert [e.request_id for e in inbox.thread(forged)] == [forged.request_id]
    with pytest.raises(OutboxError, match="matches no request"):
        thread_of(forged, inbox)
    # The requester's own follow-up, with the request's reply key, still joins.
    assert inbox.request_of(follow_up_entry(requester)) == request


def test_a_follow_up_in_a_thread_with_another_reply_key_is_not_answered(tmp_path: Path) -> None:
    # Someone who knows the mailbox id (the intake's store holds it) writes
    # in the requester's name with a key of their own: an answer sealed to
    # it would go to them, not to the requester.
    requester = Requester()
    inbox = team_inbox(tmp_path / "inbox", PrivateKey.generate())
    request = request_entry(requester)
    impostor = Requester()
    impostor.mailbox_id = requester.mailbox_id
    forged = follow_up_entry(impostor)
    for entry in (request, forged):
        inbox.store(entry, b"sealed", {})
    assert inbox.contradicts_thread(forged)
    with pytest.raises(OutboxError, match="matches no request") as refused:
        thread_of(forged, inbox)
    assert b64(requester.mailbox_id) not in str(refused.value)
    # The requester's own follow-up in the same thread is answered.
    own = follow_up_entry(requester)
    assert not inbox.contradicts_thread(own)
    assert thread_of(own, inbox).mailbox_id == requester.mailbox_id
    # A follow-up for a mailbox no request here names contradicts nothing:
    # it stands alone, unanswerable, rather than being declined.
    assert not inbox.contradicts_thread(follow_up_entry(Requester()))


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


@pytest.mark.parametrize(
    "answer",
    [
        b"garbage\r\n\r\n",
        b'HTTP/1.1 201 Created\r\nContent-Length: 100\r\n\r\n{"id"',
        b'HTTP/1.1 503 Unavailable\r\nContent-Length: 100\r\n\r\n{"error"',
    ],
)
def test_an_intake_that_answers_no_http_is_unreachable_in_one_line(
    answer: bytes, partner_key: PrivateKey
) -> None:
    refused = _post_to(answer, partner_key)
    assert isinstance(refused, IntakeUnreachable)


def test_a_refusal_names_a_field_only_as_the_intake_names_fields(partner_key: PrivateKey) -> None:
    # An answer's "field" is printed on the partner's terminal: an escape
    # sequence or a line break in it is not shown.
    body = (
        b'{"error": {"code": "invalid", "field": "\\u001b]0;x\\u0007\\nmessage", "message": "m"}}'
    )
    head = f"HTTP/1.1 422 Unprocessable\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    refused = _post_to(head + body, partner_key)
    assert type(refused) is OutboxError
    assert str(refused).endswith("the intake refused the message's body (HTTP 422)")
    named = b'{"error": {"code": "invalid", "field": "message.sealed", "message": "m"}}'
    head = f"HTTP/1.1 422 Unprocessable\r\nContent-Length: {len(named)}\r\n\r\n".encode()
    assert "message.sealed" in str(_post_to(head + named, partner_key))


def _post_to(answer: bytes, partner_key: PrivateKey) -> OutboxError:
    """What `post` raises when the intake answers `answer` (raw HTTP bytes)."""
    # Not a traceback after a pull has taken its requests: the status stays
    # pending for the next pull, and `reply` says to try again later.
    requester = Requester()
    entry = request_entry(requester)
    thread = thread_of(entry)
    wire = compose(
        entry,
        thread,
        "alpha",
        SigningKey.from_partner_key(partner_key),
        state="received",
        text="",
        sent_at=SENT_AT,
    )
    with socket.create_server(("127.0.0.1", 0)) as server:

        def serve() -> None:
            connection, _ = server.accept()
            with connection:
                # The whole request first: one left unread would make the
                # close a reset, a different failure from the one tested.
                data = b""
                while b"\r\n\r\n" not in data:
                    data += connection.recv(1 << 16)
                head, _, body = data.partition(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                while len(body) < length:
                    body += connection.recv(1 << 16)
                connection.sendall(answer)

        serving = threading.Thread(target=serve)
        serving.start()
        port = server.getsockname()[1]
        settings = MailboxSettings.parse(f"http://127.0.0.1:{port}", "--intake-url")
        with pytest.raises(OutboxError) as raised:
            post(settings, thread, wire, entry.request_id)
        serving.join(timeout=10)
    assert "\n" not in str(raised.value) and "\x1b" not in str(raised.value)
    assert b64(requester.mailbox_id) not in str(raised.value)
    return raised.value


def test_a_thread_shows_nothing_of_its_requester() -> None:
    """A repr (a log line, a traceback) ties nothing to one requester."""
    reply_key = PrivateKey.generate().public_key
    mailbox_id, access_hash = os.urandom(32), os.urandom(32)
    shown = repr(Thread(mailbox_id, reply_key, access_hash))
    for value in (mailbox_id, access_hash, reply_key.to_bytes()):
        for form in (repr(value), value.hex(), base64.b64encode(value).decode()):
            assert form[:24] not in shown
