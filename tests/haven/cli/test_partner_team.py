"""`haven partner team init|add|remove|list` and unlocking with --member, as a partner runs them."""

from __future__ import annotations

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
