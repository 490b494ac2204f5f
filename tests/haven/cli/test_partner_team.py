"""`haven partner team init|add|remove|migrate|list` and unlocking with --member, as a partner runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from haven.envelope import PrivateKey, wrap_private_key
from tests.haven.cli.conftest import Haven, Result, assert_one_line_error
from tests.team_inbox import TEST_SCRYPT


@pytest.fixture
def team(haven: Haven, tmp_path: Path, passphrase_file: Path) -> dict[str, Path]:
    key = tmp_path / "alpha.key"
    passphrase = passphrase_file.read_text().rstrip("\n")
    key.write_bytes(wrap_private_key(PrivateKey.generate().seed, passphrase, params=TEST_SCRYPT))
    files = {"key": key, "key_passphrase": passphrase_file, "inbox": tmp_path / "inbox"}
    for name, text in (("olga", "olga's own long passphrase"), ("ivan", "ivan's own passphrase!")):
        path = tmp_path / f"{name}.pass"
        path.write_text(text + "\n")
        files[name] = path
    created = haven(
        "partner", "team", "init", "--inbox", files["inbox"], "--key", key,
        "--passphrase-file", passphrase_file, "--member", "olga",
        "--new-passphrase-file", files["olga"],
    )  # fmt: skip
    assert created.code == 0, created
    return files


def as_member(haven: Haven, team: dict[str, Path], member: str, *args: str | Path) -> Result:
    return haven(
        "partner", *args, "--inbox", team["inbox"], "--member", member,
        "--passphrase-file", team[member if member in team else "olga"],
    )  # fmt: skip


def test_members_are_added_listed_and_removed(haven: Haven, team: dict[str, Path]) -> None:
    added = as_member(
        haven, team, "olga", "team", "add", "--new-member", "ivan",
        "--new-passphrase-file", team["ivan"],
    )  # fmt: skip
    assert added.code == 0, added
    listed = haven("partner", "team", "list", "--inbox", team["inbox"])
    assert listed.out.split() == ["ivan", "olga"]
    assert as_member(haven, team, "ivan", "list").code == 0
    removed = as_member(haven, team, "olga", "team", "remove", "ivan")
    assert removed.code == 0, removed
    assert "When a member leaves" in removed.out
    assert_one_line_error(as_member(haven, team, "ivan", "list"), "wrong member or passphrase")


def test_unknown_member_and_wrong_passphrase_are_one_and_the_same_line(
    haven: Haven, team: dict[str, Path], tmp_path: Path
) -> None:
    wrong = tmp_path / "wrong.pass"
    wrong.write_text("not olga's passphrase\n")
    bad_pass = haven(
        "partner", "list", "--inbox", team["inbox"], "--member", "olga", "--passphrase-file", wrong
    )
    unknown = haven(
        "partner", "list", "--inbox", team["inbox"], "--member", "nobody",
        "--passphrase-file", team["olga"],
    )  # fmt: skip
    assert_one_line_error(bad_pass, "wrong member or passphrase")
    assert bad_pass.err == unknown.err


def test_team_mistakes_are_one_line(haven: Haven, team: dict[str, Path], tmp_path: Path) -> None:
    assert_one_line_error(as_member(haven, team, "olga", "team", "remove", "olga"), "last member")
    assert_one_line_error(
        as_member(haven, team, "olga", "team", "remove", "ivan"), "ivan is not in the team"
    )
    short = tmp_path / "short.pass"
    short.write_text("too short\n")
    assert_one_line_error(
        as_member(haven, team, "olga", "team", "add", "--new-member", "ivan",
                  "--new-passphrase-file", short),
        "passphrase: at least 12 characters",
    )  # fmt: skip
    again = haven(
        "partner", "team", "init", "--inbox", team["inbox"], "--key", team["key"],
        "--passphrase-file", team["key_passphrase"], "--member", "ivan",
        "--new-passphrase-file", team["ivan"],
    )  # fmt: skip
    assert_one_line_error(again, "already holds a team inbox")
    assert_one_line_error(
        haven("partner", "team", "list", "--inbox", tmp_path / "none"), "team init"
    )
    missing = haven(
        "partner", "list", "--inbox", tmp_path / "none", "--member", "olga",
        "--passphrase-file", team["olga"],
    )  # fmt: skip
    assert_one_line_error(missing, "no team inbox", "team init")
    assert_one_line_error(
        as_member(haven, team, "olga", "show", "ab" * 32), "no such request in the inbox"
    )
    assert_one_line_error(as_member(haven, team, "olga", "show", "../x"), "not a request id")


def test_a_handle_that_is_not_utf8_is_one_line(haven: Haven, team: dict[str, Path]) -> None:
    # What a terminal in another encoding passes: bytes that are not UTF-8.
    not_utf8 = "ol\udcffga"
    for result in (
        as_member(haven, team, not_utf8, "list"),
        as_member(haven, team, not_utf8, "team", "add", "--new-member", "ivan",
                  "--new-passphrase-file", team["ivan"]),
        as_member(haven, team, "olga", "team", "remove", not_utf8),
        as_member(haven, team, "olga", "team", "add", "--new-member", not_utf8,
                  "--new-passphrase-file", team["ivan"]),
    ):  # fmt: skip
        assert_one_line_error(result, "member: ")


def test_an_inbox_folder_that_cannot_be_read_is_one_line(
    haven: Haven, team: dict[str, Path], tmp_path: Path
) -> None:
    unreadable = tmp_path / ("x" * 300)  # longer than a file name may be
    listed = haven(
        "partner", "list", "--inbox", unreadable, "--member", "olga",
        "--passphrase-file", team["olga"],
    )  # fmt: skip
    assert_one_line_error(listed, "cannot read the inbox folder")
    assert_one_line_error(haven("partner", "team", "list", "--inbox", unreadable), "cannot read")


def test_an_empty_database_of_an_interrupted_init_is_completed_by_init(
    haven: Haven, team: dict[str, Path], tmp_path: Path
) -> None:
    folder = tmp_path / "interrupted"
    folder.mkdir(mode=0o700)
    (folder / "inbox.sqlite").touch(mode=0o600)
    assert_one_line_error(haven("partner", "team", "list", "--inbox", folder), "team init")
    created = haven(
        "partner", "team", "init", "--inbox", folder, "--key", team["key"],
        "--passphrase-file", team["key_passphrase"], "--member", "olga",
        "--new-passphrase-file", team["olga"],
    )  # fmt: skip
    assert created.code == 0, created
    assert haven("partner", "team", "list", "--inbox", folder).out.split() == ["olga"]


def test_plaintext_entries_beside_the_team_inbox_are_sealed_by_team_migrate(
    haven: Haven, team: dict[str, Path]
) -> None:
    # An old toolkit's pull, still in a cron job, wrote into the team's folder.
    request_id = "ab" * 32
    (team["inbox"] / f"{request_id}.json").write_text(
        json.dumps(
            {
                "id": request_id,
                "received_at": "2026-11-01T10:00:00Z",
                "routing": {"category": "desertion"},
                "server_sealed": False,
                "content": {"note": "plaintext from an old pull"},
            }
        )
    )
    assert_one_line_error(as_member(haven, team, "olga", "list"), "team migrate")
    again = haven(
        "partner", "team", "init", "--inbox", team["inbox"], "--key", team["key"],
        "--passphrase-file", team["key_passphrase"], "--member", "olga",
        "--new-passphrase-file", team["olga"],
    )  # fmt: skip
    assert_one_line_error(again, "team migrate")
    migrated = as_member(haven, team, "olga", "team", "migrate")
    assert migrated.code == 0, migrated
    assert "1 request(s) sealed" in migrated.out
    assert sorted(p.name for p in team["inbox"].iterdir()) == ["inbox.sqlite"]
    assert request_id in as_member(haven, team, "olga", "list").out


def test_init_refuses_a_folder_holding_files_of_its_own_untouched(
    haven: Haven, team: dict[str, Path], tmp_path: Path
) -> None:
    folder = tmp_path / "documents"
    folder.mkdir(mode=0o755)
    (folder / "letter.txt").write_text("someone's own file")
    created = haven(
        "partner", "team", "init", "--inbox", folder, "--key", team["key"],
        "--passphrase-file", team["key_passphrase"], "--member", "olga",
        "--new-passphrase-file", team["olga"],
    )  # fmt: skip
    assert_one_line_error(created, str(folder), "not an inbox's")
    assert sorted(p.name for p in folder.iterdir()) == ["letter.txt"]
    assert folder.stat().st_mode & 0o777 == 0o755
