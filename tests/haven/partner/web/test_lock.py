"""The idle lock and the lock button: an unattended inbox drops the key and every opened case."""

from __future__ import annotations

from flask import Flask

from haven.partner.web import ServeSettings, create_app
from haven.partner.web.state import STATE_KEY, WebState
from tests.haven.partner.conftest import wait_until
from tests.haven.partner.web.conftest import (
    SECOND,
    SECOND_PASSPHRASE,
    MakeApp,
    Team,
    post,
    unlock,
)

IDLE = 30.0


def _web(app: Flask) -> WebState:
    state = app.extensions[STATE_KEY]
    assert isinstance(state, WebState)
    return state


def test_an_idle_session_is_locked_and_the_last_one_drops_the_key_and_cases(
    make_app: MakeApp, team: Team
) -> None:
    request_id = team.take("opened in memory")
    app = make_app(idle_lock=IDLE)
    web = _web(app)
    client = app.test_client()
    unlock(client)
    assert client.get("/").status_code == 200
    assert web.vault.is_unlocked and web.vault.holds_cases()

    team.clock.now += IDLE - 1
    assert client.get(f"/cases/{request_id}").status_code == 200  # activity: the timer restarts
    team.clock.now += IDLE - 1
    assert client.get("/").status_code == 200
    team.clock.now += IDLE
    web.vault.sweep()
    assert not web.vault.is_unlocked
    assert web.vault.key_holder() is None and not web.vault.holds_cases()
    answer = client.get(f"/cases/{request_id}")
    assert answer.status_code == 303 and answer.headers["Location"] == "/unlock"
    assert client.get("/state").get_json() == {"locked": True}
    actions = [e.action for e in team.inbox().events()]
    assert actions[-1] == "locked"


def test_polling_the_state_does_not_keep_a_session_alive(make_app: MakeApp, team: Team) -> None:
    team.take()
    app = make_app(idle_lock=IDLE)
    client = app.test_client()
    unlock(client)
    for _ in range(4):
        team.clock.now += IDLE / 3
        client.get("/state")
    assert client.get("/state").get_json() == {"locked": True}
    assert not _web(app).vault.is_unlocked


def test_the_key_stays_while_another_member_is_unlocked(make_app: MakeApp, team: Team) -> None:
    team.take()
    app = make_app(idle_lock=IDLE)
    web = _web(app)
    first, second = app.test_client(), app.test_client()
    unlock(first)
    unlock(second, SECOND, SECOND_PASSPHRASE)
    assert web.vault.sessions == 2
    assert post(first, "/lock", {}).headers["Location"] == "/unlock"
    assert web.vault.sessions == 1 and web.vault.is_unlocked
    assert first.get("/").status_code == 303
    assert second.get("/").status_code == 200
    assert post(second, "/lock", {}).status_code == 303
    assert not web.vault.is_unlocked and not web.vault.holds_cases()
    members = [(e.action, e.member) for e in team.inbox().events() if e.action == "locked"]
    assert members == [("locked", "alice"), ("locked", SECOND)]


def test_the_background_sweeper_locks_an_unattended_inbox_without_any_request(
    team: Team,
) -> None:
    team.take()
    app = create_app(ServeSettings(inbox=team.root, partner_id="alpha", idle_lock=1.0))
    web = _web(app)
    try:
        client = app.test_client()
        unlock(client)
        assert client.get("/").status_code == 200 and web.vault.holds_cases()
        wait_until(lambda: not web.vault.is_unlocked, what="the idle lock", timeout=10)
        assert not web.vault.holds_cases() and web.vault.key_holder() is None
    finally:
        web.puller.stop()


def test_the_language_option_wins_over_the_browser(make_app: MakeApp, team: Team) -> None:
    client = make_app(language="uk").test_client()
    page = client.get("/unlock", headers={"Accept-Language": "ru, en"}).get_data(as_text=True)
    assert '<html lang="uk">' in page
    assert (
        make_app()
        .test_client()
        .get("/unlock", headers={"Accept-Language": "uk"})
        .get_data(as_text=True)
        .startswith('<!doctype html>\n<html lang="uk">')
    )


def test_the_idle_lock_drops_the_key_even_when_the_inbox_cannot_be_written(
    team: Team,
) -> None:
    team.take()
    app = create_app(ServeSettings(inbox=team.root, partner_id="alpha", idle_lock=1.0))
    web = _web(app)
    try:
        client = app.test_client()
        unlock(client)
        assert client.get("/").status_code == 200
        (team.root / "inbox.sqlite").write_bytes(b"no longer a database")
        wait_until(lambda: not web.vault.is_unlocked, what="the idle lock", timeout=10)
        assert not web.vault.holds_cases() and web.vault.key_holder() is None
    finally:
        web.puller.stop()
