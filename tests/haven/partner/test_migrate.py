"""`team init` on an old plaintext inbox: every entry sealed, then every plaintext file gone."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from haven.envelope import Labels, PrivateKey, digest, seal
from haven.partner import db
from haven.partner.entry import FOLLOW_UP, PENDING, SENT, Entry
from haven.partner.inbox import Inbox, InboxError
from haven.partner.team import TeamError, members, unlock
from tests.repo import REPO
from tests.team_inbox import MEMBER, MEMBER_PASSPHRASE, make_team

EXAMPLE = json.loads((REPO / "haven" / "examples" / "desertion.json").read_bytes())
CANARY = "canary-7c2e-migration"


def old_entry(key: PrivateKey, text: str, **extra: object) -> tuple[Entry, bytes]:
    content = {**EXAMPLE, "fields": {**EXAMPLE["fields"], "message": text}}
    body = seal(
        json.dumps(content).encode(),
        Labels("desertion", "ru-central", "ru", "normal"),
        [key.public_key],
    )
    entry = Entry(
        digest(body),
        "2026-11-01T10:00:00Z",
        {"category": "desertion", "region": "ru-central", "language": "ru", "urgency": "normal"},
        False,
        content,
    )
    return replace(entry, **extra), body  # type: ignore[arg-type]


def write_old(root: Path, entry: Entry, body: bytes | None) -> None:
    """As `haven partner pull` wrote its inbox before the team inbox."""
    for folder in (root, root / "sealed", root / "declined"):
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    document = json.dumps(entry.document(), ensure_ascii=False, indent=1).encode()
    if entry.declined is not None:
        (root / "declined" / f"{entry.request_id}.json").write_bytes(document)
        return
    (root / f"{entry.request_id}.json").write_bytes(document)
    if body is not None:
        (root / "sealed" / f"{entry.request_id}.env").write_bytes(body)
        (root / "sealed" / f"{entry.request_id}.headers").write_bytes(
            json.dumps({"x-haven-category": "desertion"}).encode()
        )


def test_an_old_inbox_is_sealed_and_its_plaintext_files_removed(tmp_path: Path) -> None:
    key = PrivateKey.generate()
    root = tmp_path / "inbox"
    sent = {
        "id": "m1",
        "kind": "reply",
        "state": None,
        "text": CANARY,
        "sent_at": "2026-11-02T09:00:00Z",
    }
    answered, answered_body = old_entry(key, CANARY, sent=(sent,), received_status=SENT)
    waiting, waiting_body = old_entry(key, CANARY + " 2", received_status=PENDING)
    # A request whose envelope was lost: its content is kept, sealed.
    lost, _ = old_entry(key, CANARY + " 3")
    declined, _ = old_entry(key, "gone", declined="capacity")
    declined = replace(declined, content={})
    write_old(root, answered, answered_body)
    write_old(root, waiting, waiting_body)
    write_old(root, lost, None)
    write_old(root, declined, None)

    unlocked = make_team(root, key)

    assert sorted(p.name for p in root.iterdir()) == [db.FILE_NAME]
    assert CANARY.encode() not in db.path_of(root).read_bytes()
    inbox = Inbox(root, unlocked)
    by_id = {e.request_id: e for e in inbox.entries()}
    assert set(by_id) == {answered.request_id, waiting.request_id, lost.request_id}
    assert by_id[answered.request_id].content == answered.content
    assert by_id[answered.request_id].sent == (sent,)
    assert by_id[answered.request_id].received_status == SENT
    assert by_id[waiting.request_id].received_status == PENDING
    assert by_id[lost.request_id].content == lost.content
    assert inbox.sealed_copy(answered.request_id)[0] == answered_body
    with pytest.raises(InboxError, match="sealed copy"):
        inbox.sealed_copy(lost.request_id)
    (gone,) = inbox.entries(declined=True)
    assert (gone.request_id, gone.declined) == (declined.request_id, "capacity")
    assert inbox.has(declined.request_id)
    migrated = [e for e in inbox.events() if e.action == "migrated"]
    assert [dict(e.data) for e in migrated] == [{"count": 4}]


def test_a_follow_up_is_migrated_with_its_kind(tmp_path: Path) -> None:
    key = PrivateKey.generate()
    root = tmp_path / "inbox"
    follow_up, _ = old_entry(key, "x", kind=FOLLOW_UP)
    follow_up = replace(
        follow_up, content={"mailbox_id": "AA==", "reply_key": "AA==", "text": CANARY}
    )
    write_old(root, follow_up, None)
    inbox = Inbox(root, make_team(root, key))
    (entry,) = inbox.entries()
    assert (entry.kind, entry.content["text"]) == (FOLLOW_UP, CANARY)


def test_a_plaintext_inbox_is_refused_until_team_init(tmp_path: Path) -> None:
    key = PrivateKey.generate()
    root = tmp_path / "inbox"
    entry, body = old_entry(key, CANARY)
    write_old(root, entry, body)
    with pytest.raises(TeamError, match="team init"):
        unlock(root, MEMBER, MEMBER_PASSPHRASE)
    with pytest.raises(TeamError, match="team init"):
        members(root)


def test_a_damaged_old_entry_stops_the_migration_and_keeps_the_files(tmp_path: Path) -> None:
    key = PrivateKey.generate()
    root = tmp_path / "inbox"
    entry, body = old_entry(key, CANARY)
    write_old(root, entry, body)
    (root / f"{'ab' * 32}.json").write_bytes(b"{not json")
    with pytest.raises(TeamError, match="is not an inbox entry"):
        make_team(root, key)
    assert (root / f"{entry.request_id}.json").exists()
