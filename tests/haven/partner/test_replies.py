"""Partners answer requesters through Haven: the real intake, store, broker, router and `haven` command.

A request that asked for replies through Haven is pulled (its "received"
status goes out on its own, or on a later pull when the intake was away),
answered with `haven partner reply` and `status`, followed up by the
requester, and every message is read back from the mailbox as the
requester's device reads it: verified against the directory, opened with
the reply key.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from haven.broker import ConfirmedPublisher
from haven.directory import signing_keys
from haven.envelope import digest
from haven.partner.inbox import FOLLOW_UP, PENDING, Entry, Inbox
from haven.replies import (
    FollowUp,
    PartnerMessage,
    WireMessage,
    read_message,
    seal_follow_up,
)
from haven.store import Mailboxes, Store
from intake import IntakeSettings
from tests.haven.partner.conftest import (
    EXAMPLE,
    Network,
    RequesterKeys,
    Result,
    b64,
    fast_router,
    running_router,
    verified_loader,
    wait_until,
)
from tests.team_inbox import store_content

pytestmark = pytest.mark.broker

PARTNERS = ("alpha", "bravo")


class Requester(RequesterKeys):
    """A requester sending through the intake: its request and follow-ups, sealed."""

    def content(self) -> bytes:
        document = json.loads(EXAMPLE)
        document["fields"]["contact_channel"] = "haven_reply"
        document["fields"].pop("contact_handle", None)
        document["reply_key"] = b64(self.reply_key.public_key.to_bytes())
        document["mailbox_id"] = b64(self.mailbox_id)
        document["access_hash"] = b64(self.access_hash)
        return json.dumps(document, ensure_ascii=False).encode()

    def follow_up(self, network: Network, partner_id: str, text: str) -> bytes:
        keys = [
            network.keys[partner_id].public_key
        ]  # the partner's current keys, from the directory
        message = FollowUp(self.mailbox_id, self.reply_key.public_key.to_bytes(), text)
        return seal_follow_up(message, partner_id, "ru", keys)


@pytest.fixture
def store_of() -> Iterator[Callable[[Network], Mailboxes]]:
    """The mailboxes of a network's intake, opened as a second reader of its store."""
    opened: list[Store] = []

    def open_mailboxes(network: Network) -> Mailboxes:
        store = Store(IntakeSettings.from_env(network.env).store)
        opened.append(store)
        return Mailboxes(store, retention_seconds=3600)

    yield open_mailboxes
    for store in opened:
        store.close()


def thread(network: Network, mailboxes: Mailboxes, requester: Requester) -> list[PartnerMessage]:
    """The mailbox as the requester's device reads it: every message verified and opened."""
    out = []
    for raw in mailboxes.fetch(requester.mailbox_id, requester.access_hash):
        wire = WireMessage.from_json(json.loads(raw))
        keys = signing_keys(network.directory, wire.partner)
        out.append(read_message(wire, requester.mailbox_id, requester.reply_key, keys))
    return out


def answer(
    network: Network, partner: str, *args: str | Path, intake_url: str | None = None
) -> Result:
    """`haven partner reply|status …` as the partner runs it."""
    return network.haven(
        "partner",
        *args,
        "--inbox",
        network.inbox(partner),
        "--partner",
        partner,
        *network.member_args(partner),
        "--intake-url",
        intake_url or network.intake_url,
    )


def one_error_line(result: Result, *fragments: str) -> str:
    assert result.code != 0, result
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("haven: error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def holder(network: Network, request_id: str) -> str:
    """The partner that pulled the request (the router chose one of the two)."""
    found = [p for p in PARTNERS if request_id in network.inbox_ids(p)]
    assert len(found) == 1, found
    return found[0]


def pull_all(network: Network, *extra: str) -> dict[str, Result]:
    return {p: network.pull(p, *extra) for p in PARTNERS}


def pull_until_taken(network: Network, *ids: str, extra: tuple[str, ...] = ()) -> dict[str, Result]:
    """Pull both partners until every id is in one of their inboxes; the last pulls' results."""
    results: dict[str, Result] = {}

    def taken() -> bool:
        results.update(pull_all(network, *extra))
        assert all(r.code == 0 for r in results.values()), results
        held = set().union(*(network.inbox_ids(p) for p in PARTNERS))
        return set(ids) <= held

    wait_until(taken, timeout=30, what="pulled")
    return results


def routed(network: Network, envelope: bytes, via_intake: bool = True) -> str:
    """Send an envelope and wait until the router has given it to a partner queue."""
    if via_intake:
        return network.submit(envelope)
    publisher = ConfirmedPublisher(IntakeSettings.from_env(network.env).broker)
    try:
        message_id = digest(envelope)
        publisher.publish(envelope, message_id=message_id)
    finally:
        publisher.close()
    return message_id


def test_received_status_on_pull_then_reply_and_status_reach_the_requester_exactly(
    make_network: Callable[..., Network], store_of: Callable[[Network], Mailboxes]
) -> None:
    network = make_network()
    mailboxes = store_of(network)
    requester = Requester()
    with running_router(fast_router(network), verified_loader(network)):
        request_id = routed(network, network.seal(requester.content()))
        pull_until_taken(network, request_id, extra=("--intake-url", network.intake_url))
    partner = holder(network, request_id)
    entry = network.open_inbox(partner).entry(request_id)
    assert entry.received_status == "sent"
    (received,) = thread(network, mailboxes, requester)
    assert (received.kind, received.state, received.text) == ("status", "received", "")
    assert (received.partner, received.request) == (partner, request_id)

    text = "Здравствуйте.\nМы можем помочь: напишите, где вы сейчас.\n"
    (network.root / "reply.txt").write_text(text, encoding="utf-8")
    done = answer(network, partner, "reply", request_id, "--text-file", network.root / "reply.txt")
    assert done.code == 0, done
    assert request_id in done.out
    done = answer(network, partner, "status", request_id, "need-info", "--text", "ждём ответа")
    assert done.code == 0, done

    messages = thread(network, mailboxes, requester)
    assert [(m.kind, m.state) for m in messages] == [
        ("status", "received"),
        ("reply", None),
        ("status", "need_info"),
    ]
    # Exactly what the partner wrote, without the file's final line break.
    assert messages[1].text == text.rstrip("\n")
    assert messages[2].text == "ждём ответа"
    # Nothing of it in what the command printed.
    for result in (done,):
        assert "ждём" not in result.out + result.err
        assert b64(requester.mailbox_id) not in result.out + result.err
    recorded = network.open_inbox(partner).entry(request_id).sent
    assert [m["state"] for m in recorded] == ["received", None, "need_info"]

    shown = network.haven("partner", "show", request_id, *network.member_args(partner, inbox=True))
    assert shown.code == 0, shown
    assert "thread:" in shown.out
    assert "Мы можем помочь" in shown.out
    # The way back is used, not shown, in the human-readable view.
    assert b64(requester.mailbox_id) not in shown.out


def test_received_status_not_sent_while_the_intake_is_away_goes_with_the_next_pull(
    make_network: Callable[..., Network], store_of: Callable[[Network], Mailboxes]
) -> None:
    network = make_network()
    mailboxes = store_of(network)
    requester = Requester()
    plain = network.seal()  # a request without a mailbox: no status to send
    away = "http://127.0.0.1:9"  # the discard port: nothing listens
    with running_router(fast_router(network), verified_loader(network)):
        request_id = routed(network, network.seal(requester.content()))
        other_id = routed(network, plain)
        results = pull_until_taken(network, request_id, other_id, extra=("--intake-url", away))
    partner = holder(network, request_id)
    first = results[partner]
    assert first.code == 0, first
    warnings = [line for line in first.err.splitlines() if line.startswith("haven: warning:")]
    # The pull that took it may be an earlier one: look at the inbox, and at any warning.
    entry = network.open_inbox(partner).entry(request_id)
    assert entry.received_status == PENDING
    assert network.open_inbox(holder(network, other_id)).entry(other_id).received_status is None
    assert mailboxes.fetch(requester.mailbox_id, requester.access_hash) == []
    for line in warnings:
        assert "not sent" in line
        assert "the next pull sends them" in line
        assert b64(requester.mailbox_id) not in line

    # Still away: one warning line, the status still pending.
    again = network.pull(partner, "--intake-url", away)
    assert again.code == 0, again
    (line,) = again.err.strip().splitlines()
    assert line.startswith("haven: warning: 1 automatic received status(es) not sent")
    assert "cannot reach the intake" in line

    # No URL at all: said so, still pending.
    unset = network.pull(partner)
    assert unset.code == 0, unset
    assert "no intake URL" in unset.err

    back = network.pull(partner, "--intake-url", network.intake_url)
    assert back.code == 0, back
    assert "received status sent: 1" in back.out
    assert back.err.strip() == ""
    assert network.open_inbox(partner).entry(request_id).received_status == "sent"
    (received,) = thread(network, mailboxes, requester)
    assert (received.state, received.request) == ("received", request_id)
    # And only once: the next pull has nothing to send.
    assert "received status" not in network.pull(partner, "--intake-url", network.intake_url).out


def test_a_follow_up_lands_in_its_thread_with_its_partner_alone_and_is_answered(
    make_network: Callable[..., Network], store_of: Callable[[Network], Mailboxes]
) -> None:
    network = make_network()
    mailboxes = store_of(network)
    requester = Requester()
    with running_router(fast_router(network), verified_loader(network)):
        request_id = routed(network, network.seal(requester.content()))
        pull_until_taken(network, request_id, extra=("--intake-url", network.intake_url))
        partner = holder(network, request_id)
        other = next(p for p in PARTNERS if p != partner)
        follow_up_id = routed(
            network,
            requester.follow_up(network, partner, "Я в Ереване, паспорт есть."),
            via_intake=False,
        )
        wait_until(
            lambda: network.pull(partner).code == 0 and follow_up_id in network.inbox_ids(partner),
            timeout=30,
            what="follow-up pulled",
        )
        assert network.pull(other).code == 0
    assert follow_up_id not in network.inbox_ids(other)
    inbox = network.open_inbox(partner)
    entry = inbox.entry(follow_up_id)
    assert entry.kind == FOLLOW_UP
    assert entry.content["text"] == "Я в Ереване, паспорт есть."
    assert entry.received_status is None
    assert [e.request_id for e in inbox.thread(entry)] == [request_id, follow_up_id]

    listed = network.haven("partner", "list", *network.member_args(partner, inbox=True))
    assert listed.code == 0, listed
    lines = listed.out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.endswith(request_id) or request_id in line)
    assert lines[at + 1].startswith("  -> ")
    assert follow_up_id in lines[at + 1]
    assert "follow-up" in lines[at + 1]
    as_json = json.loads(
        network.haven("partner", "list", *network.member_args(partner, inbox=True), "--json").out
    )
    (summary,) = [s for s in as_json if s["id"] == follow_up_id]
    assert summary["kind"] == "follow_up"
    assert summary["thread"] == request_id

    (network.root / "answer.txt").write_text("Хорошо, свяжемся с юристом в Ереване.")
    done = answer(
        network, partner, "reply", follow_up_id, "--text-file", network.root / "answer.txt"
    )
    assert done.code == 0, done
    messages = thread(network, mailboxes, requester)
    assert messages[-1].request == follow_up_id
    assert messages[-1].text == "Хорошо, свяжемся с юристом в Ереване."

    shown = network.haven(
        "partner", "show", follow_up_id, *network.member_args(partner, inbox=True)
    )
    assert shown.code == 0, shown
    assert shown.out.startswith(f"follow-up {follow_up_id}")
    assert "Я в Ереване" in shown.out
    assert "Хорошо, свяжемся" in shown.out


def test_a_follow_up_in_a_requester_s_thread_with_another_reply_key_is_declined(
    make_network: Callable[..., Network],
) -> None:
    # Whoever learns a mailbox id (the intake's store holds them, and which
    # partner writes to each) must not write in the requester's name into
    # their thread: its reply key is not the request's, so it is declined.
    network = make_network()
    requester = Requester()
    with running_router(fast_router(network), verified_loader(network)):
        request_id = routed(network, network.seal(requester.content()))
        pull_until_taken(network, request_id)
        partner = holder(network, request_id)
        impostor = Requester()
        impostor.mailbox_id = requester.mailbox_id
        forged_id = routed(
            network,
            impostor.follow_up(network, partner, "Пришлите документы на этот адрес."),
            via_intake=False,
        )
        wait_until(
            lambda: network.pull(partner).code == 0 and forged_id in network.declined_ids(partner),
            timeout=30,
            what="forged follow-up declined",
        )
    assert forged_id not in network.inbox_ids(partner)
    inbox = network.open_inbox(partner)
    assert [e.request_id for e in inbox.thread(inbox.entry(request_id))] == [request_id]


def _stored(inbox: Inbox, entry: Entry) -> str:
    return store_content(inbox, entry)


def _request_entry(requester: Requester, marker: bytes, **content: object) -> Entry:
    document = json.loads(requester.content())
    document.update(content)
    routing = {
        "category": "desertion",
        "region": "ru-central",
        "language": "ru",
        "urgency": "normal",
    }
    return Entry(digest(marker), "2026-11-30T07:00:00Z", routing, False, document)


def test_every_refusal_of_the_intake_is_one_clear_line_without_the_secrets(
    make_network: Callable[..., Network], store_of: Callable[[Network], Mailboxes]
) -> None:
    network = make_network()
    mailboxes = store_of(network)
    inbox = network.open_inbox("alpha")
    (network.root / "reply.txt").write_text("секретный ответ")
    reply_file = network.root / "reply.txt"

    lines: list[str] = []

    def reply(request_id: str, partner: str = "alpha", **kwargs: str) -> str:
        result = network.haven(
            "partner",
            "reply",
            request_id,
            "--text-file",
            reply_file,
            "--inbox",
            network.inbox("alpha"),
            "--partner",
            partner,
            *network.member_args("alpha"),
            "--intake-url",
            kwargs.get("url", network.intake_url),
        )
        if result.code == 0:
            return "sent"
        lines.append(one_error_line(result, request_id))
        return lines[-1]

    first = Requester()
    first_id = _stored(inbox, _request_entry(first, b"first"))
    assert reply(first_id) == "sent"

    # Signed with alpha's key but claimed for bravo: not bravo's signature.
    line = reply(first_id, partner="bravo")
    assert "does not accept this partner's signature" in line

    # The same mailbox with another access hash.
    conflict_id = _stored(
        inbox, _request_entry(first, b"conflict", access_hash=b64(os.urandom(32)))
    )
    assert "another access hash" in reply(conflict_id)

    # A follow-up whose request is not here: it may not come from the requester
    # (docs/replies-v1.md section 5), so it is never answered.
    stranger = Requester()
    orphan = Entry(
        digest(b"orphan"),
        "2026-11-30T07:00:00Z",
        {"category": "follow_up", "region": "alpha", "language": "ru", "urgency": "normal"},
        False,
        {
            "mailbox_id": b64(stranger.mailbox_id),
            "reply_key": b64(stranger.reply_key.public_key.to_bytes()),
            "text": "привет",
        },
        kind=FOLLOW_UP,
    )
    assert "matches no request in the inbox" in reply(_stored(inbox, orphan))

    # A full mailbox: 100 messages already.
    full = Requester()
    full_id = _stored(inbox, _request_entry(full, b"full"))
    for n in range(100):
        mailboxes.write(full.mailbox_id, full.access_hash, f"{n:064x}", b"{}")
    assert "holds 100 messages" in reply(full_id)

    # A mailbox the requester deleted.
    gone = Requester()
    gone_id = _stored(inbox, _request_entry(gone, b"gone"))
    assert reply(gone_id) == "sent"
    mailboxes.delete(gone.mailbox_id, gone.access_hash)
    assert "has deleted this mailbox" in reply(gone_id)

    # No intake at that address.
    assert "cannot reach the intake" in reply(first_id, url="http://127.0.0.1:9")

    # A request whose requester chose another channel, and an id not in the inbox.
    plain_id = _stored(
        inbox,
        Entry(digest(b"plain"), "2026-11-30T07:00:00Z", {}, False, json.loads(EXAMPLE)),
    )
    assert "no reply through Haven" in reply(plain_id)
    assert "no such request" in reply(digest(b"missing"))

    secrets = [
        "секретный",
        *(b64(r.mailbox_id) for r in (first, stranger, full, gone)),
        *(b64(r.access_hash) for r in (first, full, gone)),
    ]
    # Nothing of the text, the mailbox ids or the access hashes in any line.
    assert len(lines) == 8
    for line in lines:
        for secret in secrets:
            assert secret not in line


def test_a_status_needs_a_known_state_and_a_short_note(
    make_network: Callable[..., Network],
) -> None:
    network = make_network()
    inbox = network.open_inbox("alpha")
    request_id = _stored(inbox, _request_entry(Requester(), b"status"))
    bad_state = answer(network, "alpha", "status", request_id, "done")
    assert bad_state.code == 2
    assert "invalid choice" in bad_state.err
    long_note = answer(network, "alpha", "status", request_id, "closed", "--text", "x" * 501)
    one_error_line(long_note, request_id, "text must be 0 to 500 characters")
    assert "x" * 20 not in long_note.err
    no_url = network.haven(
        "partner",
        "status",
        request_id,
        "closed",
        "--inbox",
        network.inbox("alpha"),
        "--partner",
        "alpha",
        *network.member_args("alpha"),
    )
    one_error_line(no_url, "no intake URL")
    env_url = network.haven(
        "partner",
        "status",
        request_id,
        "in-progress",
        "--inbox",
        network.inbox("alpha"),
        "--partner",
        "alpha",
        *network.member_args("alpha"),
        env={"HAVEN_INTAKE_URL": network.intake_url},
    )
    assert env_url.code == 0, env_url
    assert "status in-progress sent" in env_url.out


def test_a_pending_received_status_goes_before_the_partner_s_first_answer(
    make_network: Callable[..., Network], store_of: Callable[[Network], Mailboxes]
) -> None:
    network = make_network()
    mailboxes = store_of(network)
    requester = Requester()
    inbox = network.open_inbox("alpha")
    entry = _request_entry(requester, b"pending")
    request_id = _stored(inbox, Entry(**{**entry.__dict__, "received_status": PENDING}))
    done = answer(network, "alpha", "status", request_id, "in-progress")
    assert done.code == 0, done
    # The requester's device shows the last status: "received" must come first.
    assert [m.state for m in thread(network, mailboxes, requester)] == ["received", "in_progress"]
    assert inbox.entry(request_id).received_status == "sent"
    # And the next pull has nothing left to send.
    assert network.pull("alpha", "--intake-url", network.intake_url).out.count("received") == 0
