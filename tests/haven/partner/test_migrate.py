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
from haven.partner.migrate import BEFORE_TEAM_INBOX
from haven.partner.team import (
    TeamError,
    check_handle,
    init_team,
    members,
    migrate_team,
    unlock,
)
from tests.repo import REPO
from tests.team_inbox import MEMBER, MEMBER_PASSPHRASE, TEST_SCRYPT, make_team

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
    # What the old toolkit did is not claimed for the member who migrated it.
    (migrating,) = migrated
    assert migrating.member == MEMBER
    earlier = {
        (e.item, e.action, e.member)
        for e in inbox.events()
        if e.action in ("sent", "received_status", "declined")
    }
    assert earlier == {
        (answered.request_id, "sent", BEFORE_TEAM_INBOX),
        (answered.request_id, "received_status", BEFORE_TEAM_INBOX),
        (declined.request_id, "declined", BEFORE_TEAM_INBOX),
    }
    with pytest.raises(TeamError, match="member"):
        check_handle(BEFORE_TEAM_INBOX)


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


def test_init_again_after_a_crash_before_the_wipe_only_wipes(tmp_path: Path) -> None:
    key = PrivateKey.generate()
    root = tmp_path / "inbox"
    entry, body = old_entry(key, CANARY)
    write_old(root, entry, body)
    kept = {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}
    unlocked = make_team(root, key)
    # What a crash right after the migration's commit leaves: the team
    # inbox holds the entry, and its plaintext files are still there.
    for relative, data in kept.items():
        (root / relative).parent.mkdir(mode=0o700, exist_ok=True)
        (root / relative).write_bytes(data)

    assert init_team(root, key, MEMBER, MEMBER_PASSPHRASE, params=TEST_SCRYPT) == 0

    assert sorted(p.name for p in root.iterdir()) == [db.FILE_NAME]
    (again,) = Inbox(root, unlocked).entries()
    assert again.content == entry.content
    assert [e.action for e in Inbox(root, unlocked).events()].count("migrated") == 1


def test_only_the_old_inbox_files_are_shredded(tmp_path: Path) -> None:
    key = PrivateKey.generate()
    root = tmp_path / "inbox"
    entry, body = old_entry(key, CANARY)
    write_old(root, entry, body)
    # Temporary files of writes an old pull's crash cut short: theirs too.
    (root / "sealed" / f".{entry.request_id}.env.k2j3h4_x").write_bytes(body)
    (root / f".{entry.request_id}.json.a1b2c3").write_bytes(b"{}")
    # Beside the inbox, files of the organisation's own stay.
    (root / "notes.txt").write_bytes(b"ours")
    make_team(root, key)
    assert sorted(p.name for p in root.iterdir()) == [db.FILE_NAME, "notes.txt"]


def test_a_folder_whose_subfolders_hold_other_files_is_refused_untouched(tmp_path: Path) -> None:
    root = tmp_path / "documents"
    (root / "sealed").mkdir(parents=True)
    (root / "sealed" / "contracts.pdf").write_bytes(b"signed contract" * 100)
    (root / "declined").mkdir()
    (root / "declined" / "README.txt").write_bytes(b"our list")
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    with pytest.raises(TeamError, match="files an old inbox does not write") as refused:
        make_team(root, PrivateKey.generate())
    assert "\n" not in str(refused.value)
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before
    assert not db.path_of(root).exists()


def test_entries_written_beside_a_team_inbox_are_sealed_by_team_migrate(tmp_path: Path) -> None:
    key = PrivateKey.generate()
    root = tmp_path / "inbox"
    unlocked = make_team(root, key)
    taken, taken_body = old_entry(key, "taken by the team")
    Inbox(root, unlocked).store(taken, taken_body, {})
    Inbox(root, unlocked).record("note", taken.request_id, text="the team's note")
    # An old toolkit still pulling in a cron job: a new entry, and one the
    # team inbox holds already.
    late, late_body = old_entry(key, CANARY)
    write_old(root, late, late_body)
    write_old(root, replace(taken, content={"changed": True}), taken_body)

    for refused in (
        lambda: unlock(root, MEMBER, MEMBER_PASSPHRASE),
        lambda: init_team(root, key, MEMBER, MEMBER_PASSPHRASE, params=TEST_SCRYPT),
    ):
        with pytest.raises(TeamError, match="team migrate"):
            refused()
    with pytest.raises(TeamError, match="wrong member or passphrase"):
        migrate_team(root, MEMBER, "not the passphrase at all")
    assert (root / f"{late.request_id}.json").exists()

    assert migrate_team(root, MEMBER, MEMBER_PASSPHRASE) == 1

    assert sorted(p.name for p in root.iterdir()) == [db.FILE_NAME]
    inbox = Inbox(root, unlock(root, MEMBER, MEMBER_PASSPHRASE))
    by_id = {e.request_id: e for e in inbox.entries()}
    assert by_id[late.request_id].content == late.content
    assert by_id[taken.request_id].content == taken.content
    assert [n.text for n in inbox.case(taken.request_id).notes] == ["the team's note"]
