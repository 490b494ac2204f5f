"""The team: the org key wrapped per member; unlocking, adding and removing members."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from haven.envelope import PrivateKey
from haven.partner import db
from haven.partner.inbox import Inbox
from haven.partner.team import (
    MIN_PASSPHRASE_CHARS,
    TeamError,
    init_team,
    members,
    remove_member,
    unlock,
)
from tests.team_inbox import MEMBER, MEMBER_PASSPHRASE, TEST_SCRYPT, add, make_team

OTHER_PASSPHRASE = "another member's passphrase"


@pytest.fixture(scope="module")
def org_key() -> PrivateKey:
    return PrivateKey.generate()


def test_each_member_unlocks_the_same_org_key(tmp_path: Path, org_key: PrivateKey) -> None:
    first = make_team(tmp_path, org_key)
    add(tmp_path, first, "bob", OTHER_PASSPHRASE)
    second = unlock(tmp_path, "bob", OTHER_PASSPHRASE)
    assert first.key.seed == second.key.seed == org_key.seed
    assert (first.member, second.member) == (MEMBER, "bob")
    assert members(tmp_path) == [MEMBER, "bob"]


def test_unknown_member_and_wrong_passphrase_give_one_error(
    tmp_path: Path, org_key: PrivateKey
) -> None:
    make_team(tmp_path, org_key)
    with pytest.raises(TeamError) as wrong:
        unlock(tmp_path, MEMBER, MEMBER_PASSPHRASE + "x")
    with pytest.raises(TeamError) as unknown:
        unlock(tmp_path, "mallory", MEMBER_PASSPHRASE)
    assert str(wrong.value) == str(unknown.value)
    assert MEMBER_PASSPHRASE not in str(wrong.value)


def test_an_unknown_member_costs_a_scrypt_like_a_real_one(
    tmp_path: Path, org_key: PrivateKey
) -> None:
    # The team's real cost: the default wrap, so the difference would show.
    init_team(tmp_path, org_key, MEMBER, MEMBER_PASSPHRASE)

    def timed(member: str) -> float:
        start = time.perf_counter()
        with pytest.raises(TeamError):
            unlock(tmp_path, member, "not the passphrase at all")
        return time.perf_counter() - start

    known, unknown = timed(MEMBER), timed("mallory")
    # Without the dummy scrypt an unknown handle answers in microseconds.
    assert unknown > known / 3


def test_a_removed_member_no_longer_unlocks(tmp_path: Path, org_key: PrivateKey) -> None:
    first = make_team(tmp_path, org_key)
    add(tmp_path, first, "bob", OTHER_PASSPHRASE)
    remove_member(tmp_path, first, "bob")
    with pytest.raises(TeamError, match="wrong member or passphrase"):
        unlock(tmp_path, "bob", OTHER_PASSPHRASE)
    assert members(tmp_path) == [MEMBER]
    audit = [(e.action, dict(e.data)) for e in Inbox(tmp_path, first).events()]
    assert ("member_removed", {"handle": "bob"}) in audit


def test_a_removed_wrap_is_overwritten_in_the_file(tmp_path: Path, org_key: PrivateKey) -> None:
    first = make_team(tmp_path, org_key)
    add(tmp_path, first, "bob", OTHER_PASSPHRASE)
    with db.connect(tmp_path) as connection:
        (wrap,) = connection.execute("SELECT wrap FROM members WHERE handle = 'bob'").fetchone()
    assert bytes(wrap) in db.path_of(tmp_path).read_bytes()
    remove_member(tmp_path, first, "bob")
    assert bytes(wrap) not in db.path_of(tmp_path).read_bytes()


def test_the_last_member_cannot_be_removed(tmp_path: Path, org_key: PrivateKey) -> None:
    first = make_team(tmp_path, org_key)
    with pytest.raises(TeamError, match="last member"):
        remove_member(tmp_path, first, MEMBER)
    assert unlock(tmp_path, MEMBER, MEMBER_PASSPHRASE).key.seed == org_key.seed


def test_removing_someone_not_in_the_team_is_refused(tmp_path: Path, org_key: PrivateKey) -> None:
    first = make_team(tmp_path, org_key)
    with pytest.raises(TeamError, match="not in the team"):
        remove_member(tmp_path, first, "bob")


def test_short_passphrases_and_bad_handles_are_refused(tmp_path: Path, org_key: PrivateKey) -> None:
    with pytest.raises(TeamError, match="passphrase: at least"):
        init_team(tmp_path, org_key, MEMBER, "x" * (MIN_PASSPHRASE_CHARS - 1), params=TEST_SCRYPT)
    for handle in ("a b", "_olga", "", "x" * 33, "olga\n"):
        with pytest.raises(TeamError, match="member: "):
            init_team(tmp_path, org_key, handle, MEMBER_PASSPHRASE, params=TEST_SCRYPT)
    first = make_team(tmp_path, org_key)
    with pytest.raises(TeamError, match="passphrase: at least"):
        add(tmp_path, first, "bob", "x" * (MIN_PASSPHRASE_CHARS - 1))
    with pytest.raises(TeamError, match="already in the team"):
        add(tmp_path, first, MEMBER, OTHER_PASSPHRASE)


def test_pseudonyms_in_any_script_are_handles(tmp_path: Path, org_key: PrivateKey) -> None:
    make_team(tmp_path, org_key, "Оля.2", MEMBER_PASSPHRASE)
    assert unlock(tmp_path, "Оля.2", MEMBER_PASSPHRASE).member == "Оля.2"


def test_a_second_init_is_refused(tmp_path: Path, org_key: PrivateKey) -> None:
    make_team(tmp_path, org_key)
    with pytest.raises(TeamError, match="already holds a team inbox"):
        init_team(tmp_path, PrivateKey.generate(), "eve", OTHER_PASSPHRASE, params=TEST_SCRYPT)
    assert members(tmp_path) == [MEMBER]


def test_no_team_is_one_line_telling_to_create_it(tmp_path: Path) -> None:
    with pytest.raises(TeamError, match="team init"):
        unlock(tmp_path / "nothing", MEMBER, MEMBER_PASSPHRASE)
    with pytest.raises(TeamError, match="team init"):
        members(tmp_path / "nothing")


def test_team_changes_are_in_the_audit_log_with_who_did_them(
    tmp_path: Path, org_key: PrivateKey
) -> None:
    first = make_team(tmp_path, org_key)
    add(tmp_path, first, "bob", OTHER_PASSPHRASE)
    bob = unlock(tmp_path, "bob", OTHER_PASSPHRASE)
    remove_member(tmp_path, bob, MEMBER)
    audit = [(e.action, e.member, dict(e.data)) for e in Inbox(tmp_path, bob).events()]
    assert audit == [
        ("member_added", MEMBER, {"handle": MEMBER}),
        ("unlocked", MEMBER, {}),
        ("member_added", MEMBER, {"handle": "bob"}),
        ("unlocked", "bob", {}),
        ("member_removed", "bob", {"handle": MEMBER}),
    ]
