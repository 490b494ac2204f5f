"""The team inbox at rest: sealed rows in one SQLite file, opened only with the org key."""

from __future__ import annotations

import base64
import json
import os
import stat
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from haven.envelope import Labels, PrivateKey, digest, seal
from haven.partner import db
from haven.partner.case import MAX_NOTE_CHARS
from haven.partner.entry import format_time
from haven.partner.inbox import PENDING, REFUSED, SENT, Entry, Inbox, InboxError
from haven.partner.opening import open_item
from haven.partner.team import Unlocked
from tests.repo import REPO
from tests.team_inbox import MEMBER, add, open_inbox, team_inbox

EXAMPLE = json.loads((REPO / "haven" / "examples" / "desertion.json").read_bytes())
CANARY = "canary-1f3a-store-test"


def envelope(key: PrivateKey, message: str = CANARY, urgency: str = "urgent") -> bytes:
    content = {**EXAMPLE, "fields": {**EXAMPLE["fields"], "message": message}}
    return seal(
        json.dumps(content).encode(),
        Labels("desertion", "ru-central", "ru", urgency),
        [key.public_key],
    )


def take(inbox: Inbox, body: bytes, *, deadline: datetime | None = None) -> Entry:
    """What a pull stores: the entry opened from the envelope, with the envelope."""
    opened = open_item(body, [inbox.unlocked.key])
    entry = Entry(
        digest(body),
        format_time(datetime.now(UTC)),
        opened.labels,
        opened.server_sealed,
        opened.content,
    )
    inbox.store(entry, body, {"x-haven-category": "desertion"}, deadline=deadline)
    return entry


@pytest.fixture(scope="module")
def org_key() -> PrivateKey:
    return PrivateKey.generate()


@pytest.fixture
def inbox(tmp_path: Path, org_key: PrivateKey) -> Inbox:
    return team_inbox(tmp_path / "inbox", org_key)


def test_a_stored_request_opens_again_from_its_envelope(inbox: Inbox, org_key: PrivateKey) -> None:
    body = envelope(org_key)
    entry = take(inbox, body)
    # Another Inbox object: nothing from the first one's memory.
    again = open_inbox(inbox.root).entry(entry.request_id)
    assert again.content == entry.content
    assert again.content["fields"]["message"] == CANARY
    assert again.routing == entry.routing
    assert inbox.has(entry.request_id)
    assert inbox.sealed_copy(entry.request_id) == (body, {"x-haven-category": "desertion"})
    assert [e.action for e in inbox.events(entry.request_id)] == ["pulled"]


def test_the_folder_holds_one_private_file_and_no_plaintext(
    inbox: Inbox, org_key: PrivateKey
) -> None:
    entry = take(inbox, envelope(org_key))
    inbox.record("note", entry.request_id, text=CANARY + " in a note")
    assert sorted(p.name for p in inbox.root.iterdir()) == [db.FILE_NAME]
    assert stat.S_IMODE(inbox.root.stat().st_mode) == 0o700
    assert stat.S_IMODE(db.path_of(inbox.root).stat().st_mode) == 0o600
    data = db.path_of(inbox.root).read_bytes()
    assert CANARY.encode() not in data
    assert base64.b64encode(CANARY.encode())[:16] not in data


def test_a_row_copied_to_another_id_does_not_open(inbox: Inbox, org_key: PrivateKey) -> None:
    first, second = take(inbox, envelope(org_key)), take(inbox, envelope(org_key, "other"))
    with db.transaction(inbox.root) as connection:
        (blob,) = connection.execute(
            "SELECT sealed FROM items WHERE id = ?", (first.request_id,)
        ).fetchone()
        connection.execute("UPDATE items SET sealed = ? WHERE id = ?", (blob, second.request_id))
    with pytest.raises(InboxError, match="does not open with this team's key"):
        open_inbox(inbox.root).entry(second.request_id)


def test_an_event_moved_to_another_case_does_not_open(inbox: Inbox, org_key: PrivateKey) -> None:
    first, second = take(inbox, envelope(org_key)), take(inbox, envelope(org_key, "other"))
    note = inbox.record("note", first.request_id, text="only about the first")
    with db.transaction(inbox.root) as connection:
        connection.execute("UPDATE events SET item = ? WHERE id = ?", (second.request_id, note.id))
    with pytest.raises(InboxError, match="moved to another case"):
        inbox.case(second.request_id)


def test_another_teams_key_opens_nothing(inbox: Inbox, org_key: PrivateKey) -> None:
    entry = take(inbox, envelope(org_key))
    stranger = Inbox(inbox.root, Unlocked("eve", PrivateKey.generate()))
    with pytest.raises(InboxError, match="does not open"):
        stranger.entry(entry.request_id)


def test_a_declined_request_keeps_no_envelope_nor_content(
    inbox: Inbox, org_key: PrivateKey
) -> None:
    entry = take(inbox, envelope(org_key))
    inbox.mark_declined(entry.request_id, "capacity")
    assert inbox.has(entry.request_id)
    assert list(inbox.entries()) == []
    (declined,) = inbox.entries(declined=True)
    assert (declined.declined, declined.content) == ("capacity", {})
    with pytest.raises(InboxError, match="sealed copy of this request is missing"):
        inbox.sealed_copy(entry.request_id)
    assert [e.action for e in inbox.events(entry.request_id)] == ["pulled", "declined"]
    assert inbox.cases() == []


def test_sent_messages_and_the_received_status_are_folded_from_events(
    inbox: Inbox, org_key: PrivateKey
) -> None:
    entry = take(inbox, envelope(org_key))
    pending = replace(entry, request_id=digest(envelope(org_key, "x")), received_status=PENDING)
    inbox.store(pending, envelope(org_key, "x"), {})
    assert inbox.entry(pending.request_id).received_status == PENDING
    message = {"id": "m1", "kind": "status", "state": "received", "text": "", "sent_at": "t"}
    inbox.record_sent(pending, message, received=True)
    reply = {"id": "m2", "kind": "reply", "state": None, "text": "hello", "sent_at": "t2"}
    inbox.record_sent(pending, reply)
    again = inbox.entry(pending.request_id)
    assert again.received_status == SENT
    assert [m["id"] for m in again.sent] == ["m1", "m2"]
    inbox.set_received(entry, REFUSED)
    assert inbox.entry(entry.request_id).received_status == REFUSED
    assert inbox.case(pending.request_id).entry.sent == again.sent


def test_a_case_folds_status_assignment_and_notes(
    inbox: Inbox, tmp_path: Path, org_key: PrivateKey
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    entry = take(inbox, envelope(org_key), deadline=now - timedelta(hours=1))
    case = inbox.case(entry.request_id)
    assert (case.status, case.assignee, case.notes) == ("new", None, ())
    assert case.deadline == now - timedelta(hours=1)
    assert case.overdue(now)
    add(inbox.root, inbox.unlocked, "bob", "bob's own passphrase")
    inbox.record("assigned", entry.request_id, to="bob")
    inbox.record("status", entry.request_id, status="in_progress")
    inbox.record("note", entry.request_id, text="called the lawyer")
    case = inbox.case(entry.request_id)
    assert (case.status, case.assignee) == ("in_progress", "bob")
    assert [(n.member, n.text) for n in case.notes] == [(MEMBER, "called the lawyer")]
    assert not case.overdue(now)
    assert case.time_left(now) == timedelta(hours=-1)
    assert [e.action for e in case.history] == ["pulled", "assigned", "status", "note"]
    inbox.record("assigned", entry.request_id, to=None)
    assert inbox.case(entry.request_id).assignee is None
    assert [c.entry.request_id for c in inbox.cases()] == [entry.request_id]


@pytest.mark.parametrize(
    ("action", "data", "error"),
    [
        ("status", {"status": "done"}, "status: must be one of"),
        ("note", {"text": "  "}, "note: must not be empty"),
        ("note", {"text": "x" * (MAX_NOTE_CHARS + 1)}, "note: at most"),
        ("assigned", {"to": "nobody"}, "to: not a member"),
        ("assigned", {"to": ["alice"]}, "to: not a member"),
        ("shredded", {}, "action: not an inbox action"),
    ],
)
def test_bad_case_changes_name_the_field(
    inbox: Inbox, org_key: PrivateKey, action: str, data: dict[str, object], error: str
) -> None:
    entry = take(inbox, envelope(org_key))
    with pytest.raises(InboxError, match=error):
        inbox.record(action, entry.request_id, **data)
    assert [e.action for e in inbox.events(entry.request_id)] == ["pulled"]


def test_events_about_no_request_are_refused(inbox: Inbox) -> None:
    with pytest.raises(InboxError, match="no such request"):
        inbox.record("note", "ab" * 32, text="x")
    with pytest.raises(InboxError, match="not a request id"):
        inbox.record("note", "../x", text="x")


def test_writers_in_threads_each_get_their_transaction(inbox: Inbox, org_key: PrivateKey) -> None:
    entry = take(inbox, envelope(org_key))
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            mine = open_inbox(inbox.root)
            for i in range(10):
                mine.record("note", entry.request_id, text=f"{n}-{i}")
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(inbox.case(entry.request_id).notes) == 40


def test_the_inbox_refuses_a_folder_without_a_team(tmp_path: Path, inbox: Inbox) -> None:
    with pytest.raises(InboxError, match="team init"):
        Inbox(tmp_path / "elsewhere", inbox.unlocked).create()
    assert not os.path.exists(tmp_path / "elsewhere")
