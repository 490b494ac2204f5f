"""A failed pull, reply or decline is told in the member's language, from the catalogs; the English detail is logged only."""

from __future__ import annotations

import html

from flask import Flask

from haven.broker.settings import BrokerSettings
from haven.partner.entry import REFUSED
from haven.partner.outbox import REFUSALS, MailboxSettings
from haven.partner.pull import PartnerSettings
from haven.partner.web.problems import REFUSAL_TEXTS
from haven.partner.web.state import STATE_KEY, WebState
from tests.haven.partner.web.conftest import MakeApp, Team, post, unlock

# A broker that refuses at once, and an intake nobody listens on.
NO_BROKER = PartnerSettings(BrokerSettings(urls=("amqp://u:p@127.0.0.1:1/%2F",)), "alpha")
NO_INTAKE = MailboxSettings.parse("http://127.0.0.1:1", "the test's intake URL")


def _web(app: Flask) -> WebState:
    state = app.extensions[STATE_KEY]
    assert isinstance(state, WebState)
    return state


def _texts(app: Flask, lang: str) -> set[str]:
    """Every text of this language's catalog."""
    return set(_web(app).catalog.msgids(lang).values())


def _english(app: Flask) -> set[str]:
    return set(_web(app).catalog.msgids("en").values())


def test_every_refusal_code_of_the_intake_has_a_catalog_text() -> None:
    assert set(REFUSAL_TEXTS) == set(REFUSALS)


def test_a_failed_pull_is_shown_in_the_members_language(make_app: MakeApp, team: Team) -> None:
    app = make_app(broker=NO_BROKER, language="ru")
    client = app.test_client()
    unlock(client)
    assert _web(app).puller.pull_once() is None
    error = client.get("/state").get_json()["pull"]["error"]
    assert error in _texts(app, "ru") and error not in _english(app)
    page = html.unescape(client.get("/").get_data(as_text=True))
    assert error in page
    assert "broker" not in page and "ConnectionRefused" not in page


def test_a_failed_decline_is_told_in_the_members_language(make_app: MakeApp, team: Team) -> None:
    request_id = team.take()
    app = make_app(broker=NO_BROKER, language="uk")
    client = app.test_client()
    unlock(client)
    answer = post(client, f"/cases/{request_id}/decline", {"reason": "no-capacity"})
    page = html.unescape(answer.get_data(as_text=True))
    assert answer.status_code == 400 and 'id="error"' in page
    shown = [text for text in _texts(app, "uk") if text.startswith("Відмову не виконано")]
    assert len(shown) == 2 and any(text in page for text in shown)
    assert "cannot connect" not in page and "broker" not in page


def test_a_reply_that_cannot_go_is_told_in_the_members_language(
    make_app: MakeApp, team: Team
) -> None:
    # The example request gave no Haven mailbox: there is nowhere to send a reply.
    request_id = team.take()
    app = make_app(mailbox=NO_INTAKE, language="ru")
    client = app.test_client()
    unlock(client)
    answer = post(client, f"/cases/{request_id}/reply", {"text": "a reply", "state": ""})
    page = html.unescape(answer.get_data(as_text=True))
    assert answer.status_code == 400 and 'id="error"' in page
    assert any(text.startswith("Не отправлено") and text in page for text in _texts(app, "ru"))
    assert "no mailbox" not in page and "contact channel" not in page


def test_the_received_status_in_a_history_is_in_the_members_language(
    make_app: MakeApp, team: Team
) -> None:
    request_id = team.take()
    inbox = team.inbox()
    inbox.set_received(inbox.entry(request_id), REFUSED)
    app = make_app(language="ru")
    client = app.test_client()
    unlock(client)
    page = html.unescape(client.get(f"/cases/{request_id}").get_data(as_text=True))
    line = _web(app).catalog.gettext(
        "ru",
        "Automatic “received” status: {state}",
        state=_web(app).catalog.gettext("ru", "refused by the intake"),
    )
    assert line in page and f": {REFUSED}" not in page
