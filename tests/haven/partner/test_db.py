"""How the inbox database is opened: what survives a power cut, what a deletion leaves."""

from __future__ import annotations

from pathlib import Path

from haven.envelope import PrivateKey
from haven.partner import db
from tests.team_inbox import make_team

# SQLite's number for PRAGMA synchronous = EXTRA.
SYNCHRONOUS_EXTRA = 3


def test_a_commit_syncs_the_folder_after_deleting_the_journal(tmp_path: Path) -> None:
    # The pull acks a request once its transaction committed; with the
    # journal deleted but the folder not synced, a power cut could undo it.
    make_team(tmp_path, PrivateKey.generate())
    with db.connect(tmp_path) as connection:
        (level,) = connection.execute("PRAGMA synchronous").fetchone()
    assert level == SYNCHRONOUS_EXTRA

