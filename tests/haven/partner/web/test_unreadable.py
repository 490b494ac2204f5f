"""A case that no longer opens: a row saying so in the inbox, a page saying so, never a 500."""

from __future__ import annotations

import json

from flask import Flask

from haven.envelope import Labels, PrivateKey, seal
from tests.haven.partner.web.conftest import EXAMPLE, Team, unlock
from tests.team_inbox import damage_item, store_unopenable

CANNOT_OPEN = "This case cannot be opened"


def test_a_case_that_does_not_open_is_a_row_and_a_page_saying_so(app: Flask, team: Team) -> None:
    readable = team.take("still readable")
    later = store_unopenable(
        team.inbox(),
        seal(
            json.dumps(EXAMPLE).encode(),
            Labels("desertion", "ru-central", "ru", "urgent"),
            [PrivateKey.generate().public_key],
        ),
    )
    damaged = team.take("about to be damaged")
    damage_item(team.inbox(), damaged)
    client = app.test_client()
    unlock(client)

    page = client.get("/?lang=en")
    listing = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'data-id="{readable}"' in listing
    for request_id in (later, damaged):
        row = listing[listing.index(f'data-id="{request_id}"') :].split("</tr>")[0]
        assert CANNOT_OPEN in row
    for request_id in (later, damaged):
        case = client.get(f"/cases/{request_id}?lang=en")
        assert case.status_code == 200
        assert CANNOT_OPEN in case.get_data(as_text=True)
    assert client.get(f"/cases/{readable}").status_code == 200
