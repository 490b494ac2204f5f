"""How the inbox database is opened: what survives a power cut, what a deletion leaves."""

from __future__ import annotations

from pathlib import Path

from haven.envelope import PrivateKey
from haven.partner import db
from tests.team_inbox import make_team

# SQLite's numbers for PRAGMA synchronous = EXTRA and secure_delete = ON.
SYNCHRONOUS_EXTRA = 3
SECURE_DELETE_ON = 1


def test_a_commit_syncs_the_folder_after_deleting_the_journal(tmp_path: Path) -> None:
    # The pull acks a request once its transaction committed; with the
    # journal deleted but the folder not synced, a power cut could undo it.
    make_team(tmp_path, PrivateKey.generate())
    with db.connect(tmp_path) as connection:
        (level,) = connection.execute("PRAGMA synchronous").fetchone()
    assert level == SYNCHRONOUS_EXTRA


def test_deleted_rows_are_overwritten_not_left_in_free_pages(tmp_path: Path) -> None:
    # Set by the inbox itself, not left to how SQLite was built ("fast"
    # would leave deleted rows in the file when no page is freed).
    make_team(tmp_path, PrivateKey.generate())
    with db.connect(tmp_path) as connection:
        (mode,) = connection.execute("PRAGMA secure_delete").fetchone()
    assert mode == SECURE_DELETE_ON
