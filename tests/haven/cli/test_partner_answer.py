"""`haven partner reply|status` refuse what they cannot send in one line, before reaching any intake.

The answers the intake gives are tested against the real intake in
tests/haven/partner/test_replies.py; these are the partner's own mistakes.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from haven.envelope import Labels, PrivateKey, ScryptParams, digest, seal, wrap_private_key
from haven.partner.inbox import Entry
from haven.replies import access_hash
from tests.haven.cli.conftest import EXAMPLES, Haven, assert_one_line_error
from tests.team_inbox import MEMBER, MEMBER_PASSPHRASE, team_inbox

CHEAP = ScryptParams(log2_n=10, r=8, p=1)
# Nothing listens there: a test that reached it would fail on "cannot reach".
NOWHERE = "http://127.0.0.1:9"
# A request the desertion form accepts, answered through Haven (no messenger handle).
EXAMPLE_FIELDS = {
    k: v
    for k, v in json.loads((EXAMPLES / "desertion.json").read_text())["fields"].items()
    if k != "contact_handle"
}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def key_file(tmp_path: Path, passphrase_file: Path, key: PrivateKey) -> Path:
    path = tmp_path / "alpha.key"
    passphrase = passphrase_file.read_text().rstrip("\n")
    path.write_bytes(wrap_private_key(key.seed, passphrase, params=CHEAP))
    path.chmod(0o600)
    return path


@pytest.fixture
def setup(tmp_path: Path) -> dict[str, Path | str]:
    key = PrivateKey.generate()
    inbox = team_inbox(tmp_path / "inbox", key)
    member_passphrase = tmp_path / "member-passphrase"
    member_passphrase.write_text(MEMBER_PASSPHRASE + "\n")
    content = {
        "v": 1,
        "category": "desertion",
        "fields": {**EXAMPLE_FIELDS, "contact_channel": "haven_reply"},
        "reply_key": b64(PrivateKey.generate().public_key.to_bytes()),
        "mailbox_id": b64(os.urandom(32)),
        "access_hash": b64(access_hash(os.urandom(32))),
    }
    body = seal(
        json.dumps(content).encode(),
        Labels("desertion", "ru-central", "ru", "normal"),
        [key.public_key],
    )
    request_id = digest(body)
    inbox.store(Entry(request_id, "2026-11-30T07:00:00Z", {}, False, content), body, {})
    return {"inbox": inbox.root, "id": request_id, "passphrase": member_passphrase}


def _common(setup: dict[str, Path | str]) -> list[str | Path]:
    return [
        "--inbox",
        setup["inbox"],
        "--partner",
        "alpha",
        "--member",
        MEMBER,
        "--passphrase-file",
        setup["passphrase"],
    ]


def test_a_reply_file_that_is_not_utf8_or_is_missing_is_refused(
    haven: Haven, setup: dict[str, Path | str], tmp_path: Path
) -> None:
    latin = tmp_path / "latin1.txt"
    latin.write_bytes("Antwort: Grüße".encode("latin-1"))
    result = haven(
        "partner", "reply", setup["id"], "--text-file", latin, *_common(setup),
        "--intake-url", NOWHERE,
    )  # fmt: skip
    assert_one_line_error(result, "is not UTF-8")
    result = haven(
        "partner", "reply", setup["id"], "--text-file", tmp_path / "absent.txt", *_common(setup),
        "--intake-url", NOWHERE,
    )  # fmt: skip
    assert_one_line_error(result, "cannot read reply text")


def test_an_empty_reply_names_the_field(
    haven: Haven, setup: dict[str, Path | str], tmp_path: Path
) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("\r\n\n")  # only line ends: nothing to say
    result = haven(
        "partner", "reply", setup["id"], "--text-file", empty, *_common(setup),
        "--intake-url", NOWHERE,
    )  # fmt: skip
    assert_one_line_error(result, setup["id"], "text must be 1 to 4000 characters")


def test_a_bad_intake_url_names_where_it_came_from(
    haven: Haven, setup: dict[str, Path | str]
) -> None:
    result = haven(
        "partner", "status", setup["id"], "closed", *_common(setup),
        "--intake-url", "ftp://intake.example.org",
    )  # fmt: skip
    assert_one_line_error(result, "--intake-url must be the intake's http or https base URL")


def test_an_id_that_is_not_in_the_inbox_or_not_an_id(
    haven: Haven, setup: dict[str, Path | str]
) -> None:
    result = haven(
        "partner", "status", digest(b"other"), "closed", *_common(setup),
        "--intake-url", NOWHERE,
    )  # fmt: skip
    assert_one_line_error(result, "no such request in the inbox")
    result = haven(
        "partner", "status", "../../etc/passwd", "closed", *_common(setup),
        "--intake-url", NOWHERE,
    )  # fmt: skip
    assert_one_line_error(result, "not a request id")


def test_an_old_plaintext_inbox_is_refused_until_team_init_seals_it(
    haven: Haven, tmp_path: Path, passphrase_file: Path
) -> None:
    # An inbox of an earlier version: no kind, no sent, no received_status.
    old_folder = tmp_path / "old"
    old_folder.mkdir(mode=0o700)
    request_id = digest(b"old request")
    old = {
        "id": request_id,
        "received_at": "2026-11-01T10:00:00Z",
        "routing": {"category": "asylum", "region": "abroad-eu", "language": "ru"},
        "server_sealed": False,
        "content": {"v": 1, "category": "asylum", "fields": {}},
    }
    (old_folder / f"{request_id}.json").write_text(json.dumps(old))
    member = ["--inbox", old_folder, "--member", MEMBER, "--passphrase-file", passphrase_file]
    for command in (["list"], ["show", request_id], ["team", "list", "--inbox", old_folder]):
        refused = haven("partner", *command, *(member if command[0] != "team" else []))
        assert_one_line_error(refused, "plaintext inbox", "haven partner team init")
    member_passphrase = tmp_path / "member-passphrase"
    member_passphrase.write_text(MEMBER_PASSPHRASE + "\n")
    key = key_file(tmp_path, passphrase_file, PrivateKey.generate())
    init = haven(
        "partner", "team", "init", "--inbox", old_folder, "--key", key,
        "--passphrase-file", passphrase_file, "--member", MEMBER,
        "--new-passphrase-file", member_passphrase,
    )  # fmt: skip
    assert init.code == 0, init
    assert "1 request(s) of the plaintext inbox sealed" in init.out
    assert sorted(p.name for p in old_folder.iterdir()) == ["inbox.sqlite"]
    member = ["--inbox", old_folder, "--member", MEMBER, "--passphrase-file", member_passphrase]
    listed = haven("partner", "list", *member, "--json")
    assert listed.code == 0, listed
    (summary,) = json.loads(listed.out)
    assert (summary["kind"], summary["status"], summary["assignee"]) == ("request", "new", None)
    shown = haven("partner", "show", request_id, *member)
    assert shown.code == 0, shown
    assert "replies:" not in shown.out
    assert "case:  status: new  unassigned  deadline: not known" in shown.out
