"""A member who types their handle in another Unicode form is the same member in the audit log."""

from __future__ import annotations

import unicodedata

from flask import Flask

from tests.haven.partner.web.conftest import Team, post, unlock
from tests.team_inbox import add

PASSPHRASE = "Йосип's own passphrase"


def test_a_decomposed_handle_acts_as_the_member_it_names(app: Flask, team: Team) -> None:
    composed = unicodedata.normalize("NFC", "Йосип")
    add(team.root, team.unlocked, composed, PASSPHRASE)
    request_id = team.take()
    client = app.test_client()
    unlock(client, unicodedata.normalize("NFD", composed), PASSPHRASE)
    assert post(client, f"/cases/{request_id}/note", {"text": "called back"}).status_code < 400
    (note,) = [e for e in team.inbox().events(request_id) if e.action == "note"]
    assert note.member == composed
