"""What the old toolkit did before a migration is shown as such, in the page's language."""

from __future__ import annotations

from haven.partner import db
from haven.partner.migrate import BEFORE_TEAM_INBOX
from haven.partner.rows import add_event, record_key
from tests.haven.partner.web.conftest import MakeApp, Team, post, token, unlock

TRANSLATED = {"ru": "(до общего ящика команды)", "uk": "(до спільної скриньки команди)"}


def _sent_before_the_team_inbox(team: Team) -> str:
    request_id = team.take()
    with db.transaction(team.root) as connection:
        add_event(
            connection,
            record_key(connection, team.key),
            "sent",
            BEFORE_TEAM_INBOX,
            request_id,
            data={"message": {"id": "m1", "kind": "reply", "state": None}, "migrated": True},
        )
    return request_id


def test_the_case_history_and_export_name_the_old_toolkit_in_the_pages_language(
    team: Team, make_app: MakeApp
) -> None:
    request_id = _sent_before_the_team_inbox(team)
    for lang, marker in TRANSLATED.items():
        client = make_app(language=lang).test_client()
        unlock(client)
        page = client.get(f"/cases/{request_id}").get_data(as_text=True)
        assert marker in page and BEFORE_TEAM_INBOX not in page
        path = f"/cases/{request_id}/export"
        exported = post(client, path, {}, token(client, path)).get_data(as_text=True)
        assert marker in exported and BEFORE_TEAM_INBOX not in exported
