"""Unlock, inbox, case: what a member sees, in their language, and nothing else."""

from __future__ import annotations

from flask import Flask

from haven.replies import FollowUp, seal_follow_up
from schemas.forms import form_definition
from schemas.routing import CATEGORY_LABELS
from tests.haven.partner.conftest import RequesterKeys, b64
from tests.haven.partner.web.conftest import EXAMPLE, Team, post, soon, token, unlock


def test_a_member_unlocks_and_sees_the_inbox_with_labelled_cases(app: Flask, team: Team) -> None:
    request_id = team.take("Первое обращение")
    client = app.test_client()
    assert client.get("/").headers["Location"] == "/unlock"
    answer = unlock(client)
    assert answer.status_code == 303 and answer.headers["Location"] == "/"
    page = client.get("/", headers={"Accept-Language": "ru"}).get_data(as_text=True)
    assert '<html lang="ru">' in page
    assert request_id in page
    assert CATEGORY_LABELS["desertion"]["ru"] in page


def test_the_case_shows_field_labels_and_choice_names_not_raw_json(app: Flask, team: Team) -> None:
    request_id = team.take("Нужна помощь юриста", deadline=soon(5))
    client = app.test_client()
    unlock(client)
    page = client.get(f"/cases/{request_id}", headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )
    assert "Нужна помощь юриста" in page
    assert "Kazakhstan" in page  # the country by name, not "KZ"
    status = next(f for f in form_definition("desertion")["fields"] if f["name"] == "status")
    chosen = next(c for c in status["choices"] if c["value"] == EXAMPLE["fields"]["status"])
    assert f"<dt>{status['labels']['en']}</dt><dd>{chosen['labels']['en']}</dd>" in page
    assert '"status": ' not in page and '"fields": ' not in page
    assert 'id="time-left"' in page


def test_an_assignment_a_note_and_a_status_are_events_of_the_member(app: Flask, team: Team) -> None:
    request_id = team.take()
    client = app.test_client()
    unlock(client)
    path = f"/cases/{request_id}"
    assert post(client, f"{path}/assign", {"to": "bob"}, token(client, path)).status_code == 303
    assert (
        post(client, f"{path}/note", {"text": "call back"}, token(client, path)).status_code == 303
    )
    assert (
        post(client, f"{path}/status", {"status": "in_progress"}, token(client, path)).status_code
        == 303
    )
    case = team.inbox().case(request_id)
    assert case.assignee == "bob" and case.status == "in_progress"
    assert [n.text for n in case.notes] == ["call back"]
    assert {e.member for e in case.history if e.action in ("assigned", "note", "status")} == {
        "alice"
    }


def test_the_case_shows_the_thread_follow_ups_and_what_was_sent_in_order(
    app: Flask, team: Team
) -> None:
    requester = RequesterKeys()
    request_id = team.take(
        extra={
            "reply_key": b64(requester.reply_key.public_key.to_bytes()),
            "mailbox_id": b64(requester.mailbox_id),
            "access_hash": b64(requester.access_hash),
        }
    )
    inbox = team.inbox()
    inbox.record_sent(
        inbox.entry(request_id),
        {
            "id": "m1",
            "kind": "reply",
            "state": None,
            "text": "first answer",
            "sent_at": "2026-01-01T00:00:00Z",
        },
    )
    follow_up = FollowUp(
        requester.mailbox_id, requester.reply_key.public_key.to_bytes(), "my follow-up"
    )
    follow_up_id = team.store(seal_follow_up(follow_up, "alpha", "ru", [team.key.public_key]))
    client = app.test_client()
    unlock(client)
    listed = client.get("/").get_data(as_text=True)
    assert f'data-id="{request_id}"' in listed and f'data-id="{follow_up_id}"' not in listed
    page = client.get(f"/cases/{request_id}").get_data(as_text=True)
    thread = page[page.index('id="thread"') : page.index("</ol>", page.index('id="thread"'))]
    assert thread.index("first answer") < thread.index("my follow-up")
    assert b64(requester.mailbox_id) not in page
