"""Unlock, inbox, case: what a member sees, in their language, and nothing else."""

from __future__ import annotations

from flask import Flask

from haven.broker.settings import BrokerSettings
from haven.partner.pull import PartnerSettings
from haven.replies import FollowUp, seal_follow_up
from schemas.forms import form_definition
from schemas.routing import CATEGORY_LABELS
from tests.haven.partner.conftest import RequesterKeys, b64
from tests.haven.partner.web.conftest import EXAMPLE, MakeApp, Team, post, soon, token, unlock


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


def test_only_a_case_the_inbox_holds_is_logged_as_viewed(app: Flask, team: Team) -> None:
    declined = team.take()
    team.inbox().mark_declined(declined, "no-capacity")
    client = app.test_client()
    unlock(client)
    for request_id in (declined, "ab" * 32):
        assert client.get(f"/cases/{request_id}").status_code == 404
    assert "viewed" not in [e.action for e in team.inbox().events()]
    held = team.take()
    assert client.get(f"/cases/{held}").status_code == 200
    assert [e.action for e in team.inbox().events(held)].count("viewed") == 1


def test_a_follow_up_offers_no_decline_and_refuses_one(make_app: MakeApp, team: Team) -> None:
    requester = RequesterKeys()
    request_id = team.take(
        extra={
            "reply_key": b64(requester.reply_key.public_key.to_bytes()),
            "mailbox_id": b64(requester.mailbox_id),
            "access_hash": b64(requester.access_hash),
        }
    )
    follow_up = FollowUp(requester.mailbox_id, requester.reply_key.public_key.to_bytes(), "more")
    follow_up_id = team.store(seal_follow_up(follow_up, "alpha", "ru", [team.key.public_key]))
    # A broker that is never reached: the page offers a decline only because it has one.
    broker = PartnerSettings(BrokerSettings(urls=("amqp://u:p@127.0.0.1:1/%2F",)), "alpha")
    client = make_app(broker=broker).test_client()
    unlock(client)
    assert 'id="decline-form"' in client.get(f"/cases/{request_id}").get_data(as_text=True)
    assert 'id="decline-form"' not in client.get(f"/cases/{follow_up_id}").get_data(as_text=True)
    refused = post(client, f"/cases/{follow_up_id}/decline", {"reason": "no-capacity"})
    assert refused.status_code == 400
    assert team.inbox().entry(follow_up_id).declined is None


def test_a_case_is_logged_as_viewed_once_per_session_not_after_each_action(
    app: Flask, team: Team
) -> None:
    request_id = team.take()
    first, second = app.test_client(), app.test_client()
    unlock(first)
    for _ in range(3):
        assert first.get(f"/cases/{request_id}").status_code == 200
    assert post(first, f"/cases/{request_id}/note", {"text": "позвонить"}).status_code == 303
    assert first.get(f"/cases/{request_id}").status_code == 200
    unlock(second)
    assert second.get(f"/cases/{request_id}").status_code == 200
    actions = [e.action for e in team.inbox().events(request_id)]
    # Once by each session that opened it; the note in between is its own event.
    assert actions.count("viewed") == 2 and actions.count("note") == 1
