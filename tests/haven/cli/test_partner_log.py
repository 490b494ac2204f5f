"""`haven partner log`: the audit log names who did what and when, never what was written."""

from __future__ import annotations

import json
from pathlib import Path

from haven.envelope import PrivateKey
from haven.partner.inbox import Entry, Inbox
from tests.haven.cli.conftest import Haven, assert_one_line_error
from tests.team_inbox import MEMBER, MEMBER_PASSPHRASE, add, make_team, store_content

CANARY = "canary-audit-4f02 записка"
REQUEST_ID = "ab" * 32


def _worked_on(root: Path) -> Path:
    unlocked = make_team(root, PrivateKey.generate())
    add(root, unlocked, "boris", "boris's long passphrase")
    inbox = Inbox(root, unlocked)
    entry = Entry(
        REQUEST_ID,
        "2026-11-30T10:00:00Z",
        {"category": "evacuation", "region": "ru-south", "language": "ru", "urgency": "urgent"},
        False,
        {"fields": {"message": CANARY}},
    )
    store_content(inbox, entry)
    inbox.record("note", REQUEST_ID, text=CANARY + " note")
    inbox.record("assigned", REQUEST_ID, to="boris")
    inbox.record("status", REQUEST_ID, status="in_progress")
    inbox.record_sent(
        entry,
        {"id": "m1", "kind": "reply", "state": "need_info", "text": CANARY + " reply",
         "sent_at": "2026-11-30T10:05:00Z"},
    )  # fmt: skip
    passphrase = root.parent / "alice.pass"
    passphrase.write_text(MEMBER_PASSPHRASE + "\n")
    return passphrase


def test_the_log_lists_every_action_with_member_and_time_and_no_text(
    haven: Haven, tmp_path: Path
) -> None:
    root = tmp_path / "inbox"
    passphrase = _worked_on(root)
    base = ("partner", "log", "--inbox", root, "--member", MEMBER, "--passphrase-file", passphrase)
    shown = haven(*base)
    assert shown.code == 0, shown
    assert CANARY not in shown.out and "записка" not in shown.out
    lines = shown.out.splitlines()
    actions = [line.split("  ")[2] for line in lines]
    assert actions[:2] == ["member_added", "unlocked"]
    assert [a for a in actions if a in ("note", "assigned", "status", "sent")] == [
        "note",
        "assigned",
        "status",
        "sent",
    ]
    assert any(line.endswith("to=boris") and f"  {MEMBER}  assigned  " in line for line in lines)
    records = [
        json.loads(line) for line in haven(*base, "--case", REQUEST_ID, "--json").out.splitlines()
    ]
    assert {r["case"] for r in records} == {REQUEST_ID}
    sent = next(r for r in records if r["action"] == "sent")
    assert sent == {
        "at": sent["at"], "member": MEMBER, "action": "sent", "case": REQUEST_ID,
        "kind": "reply", "state": "need_info",
    }  # fmt: skip
    assert all(r["member"] == MEMBER and r["at"].endswith("Z") for r in records)
    assert CANARY not in json.dumps(records, ensure_ascii=False)


def test_a_case_that_is_not_an_id_is_one_line(haven: Haven, tmp_path: Path) -> None:
    root = tmp_path / "inbox"
    passphrase = _worked_on(root)
    refused = haven(
        "partner", "log", "--inbox", root, "--member", MEMBER, "--passphrase-file", passphrase,
        "--case", "../etc",
    )  # fmt: skip
    assert_one_line_error(refused, "not a request id")
