"""The idle lock and the lock button: an unattended inbox drops the key and every opened case."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from haven.broker.settings import BrokerSettings
from haven.partner import team as team_module
from haven.partner.inbox import Event, Inbox
from haven.partner.pull import PartnerSettings
from haven.partner.web import ServeSettings, create_app
from haven.partner.web.clock import idle_clock
from haven.partner.web.security import SESSION_COOKIE
from haven.partner.web.state import STATE_KEY, WebState
from tests.haven.partner.conftest import wait_until
from tests.haven.partner.web.conftest import (
    SECOND,
    SECOND_PASSPHRASE,
    MakeApp,
    Team,
    post,
    token,
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


def test_a_member_removed_while_signed_in_loses_the_session_and_the_last_drops_the_key(
    make_app: MakeApp, team: Team
) -> None:
    request_id = team.take("seen by a member about to leave")
    app = make_app(idle_lock=IDLE)
    web = _web(app)
    leaving = app.test_client()
    unlock(leaving, SECOND, SECOND_PASSPHRASE)
    assert "seen by a member" in leaving.get(f"/cases/{request_id}").get_data(as_text=True)
    csrf = token(leaving)
    team_module.remove_member(team.root, team.unlocked, SECOND)
    answer = leaving.get(f"/cases/{request_id}")
    assert answer.status_code == 303 and answer.headers["Location"] == "/unlock"
    assert "seen by a member" not in leaving.get("/unlock").get_data(as_text=True)
    assert (
        post(leaving, f"/cases/{request_id}/note", {"text": "after leaving"}, csrf).status_code
        == 303
    )
    assert team.inbox().case(request_id).notes == ()
    # It was the last session: the key and every opened case went with it.
    assert web.vault.sessions == 0 and not web.vault.is_unlocked and not web.vault.holds_cases()
    assert leaving.get("/state").get_json() == {"locked": True}


def test_the_sweeper_locks_a_removed_member_while_another_stays(
    make_app: MakeApp, team: Team
) -> None:
    team.take()
    app = make_app(idle_lock=IDLE)
    web = _web(app)
    staying, leaving = app.test_client(), app.test_client()
    unlock(staying)
    unlock(leaving, SECOND, SECOND_PASSPHRASE)
    team_module.remove_member(team.root, team.unlocked, SECOND)
    web.vault.sweep()
    assert web.vault.sessions == 1 and web.vault.is_unlocked
    assert leaving.get("/").status_code == 303
    assert staying.get("/").status_code == 200
    removed = [e for e in team.inbox().events() if e.action == "locked"]
    assert [(e.member, e.data.get("removed")) for e in removed] == [(SECOND, True)]


def test_a_slow_alert_hook_does_not_hold_the_idle_lock_back(team: Team, tmp_path: Path) -> None:
    team.take()
    heard = tmp_path / "heard"
    # A hook that takes its line, then hangs (a mail server that does not answer).
    hook = ("sh", "-c", f"cat > {heard}; sleep 60")
    # A broker that refuses at once: every pull fails fast, then alerts.
    broker = PartnerSettings(BrokerSettings(urls=("amqp://u:p@127.0.0.1:1/%2F",)), "alpha")
    settings = ServeSettings(
        inbox=team.root,
        partner_id="alpha",
        broker=broker,
        idle_lock=2.0,
        pull_every=1.0,
        alert_command=hook,
    )
    app = create_app(settings)
    web = _web(app)
    try:
        unlock(app.test_client())
        wait_until(lambda: heard.exists() and heard.read_text() != "", what="the alert hook")
        assert web.puller.alerts.busy()
        unlocked_for = time.monotonic()
        wait_until(lambda: not web.vault.is_unlocked, what="the idle lock", timeout=10)
        # The idle time and a sweep round, not the hook's minute.
        assert time.monotonic() - unlocked_for < 5
        assert not web.vault.holds_cases() and web.vault.key_holder() is None
    finally:
        web.puller.stop()
    assert not web.puller.alerts.busy()


def test_the_idle_lock_counts_the_time_the_machine_slept(
    team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A laptop shut with the inbox unlocked and opened hours later: the
    # suspended hours count (CLOCK_BOOTTIME), unlike time.monotonic's.
    app = create_app(ServeSettings(inbox=team.root, partner_id="alpha"), background=False)
    assert _web(app).vault.clock is idle_clock
    if hasattr(time, "CLOCK_BOOTTIME"):
        assert abs(idle_clock() - time.clock_gettime(time.CLOCK_BOOTTIME)) < 1
    monkeypatch.delattr(time, "CLOCK_BOOTTIME", raising=False)
    assert abs(idle_clock() - time.time()) < 1


def test_the_state_tells_a_page_the_idle_time_left_without_adding_any(
    make_app: MakeApp, team: Team
) -> None:
    team.take()
    app = make_app(idle_lock=IDLE)
    tab, other_tab = app.test_client(), app.test_client()
    unlock(tab)
    cookie = tab.get_cookie(SESSION_COOKIE)
    assert cookie is not None
    other_tab.set_cookie(SESSION_COOKIE, cookie.value)
    team.clock.now += IDLE / 3
    assert tab.get("/state").get_json()["idle_left"] == IDLE - IDLE / 3
    team.clock.now += IDLE / 3
    assert tab.get("/state").get_json()["idle_left"] == IDLE / 3  # polling added nothing
    assert other_tab.get("/").status_code == 200  # the member is busy in another tab
    assert tab.get("/state").get_json()["idle_left"] == IDLE


def test_the_last_lock_lets_the_key_go_before_it_writes_its_log_line(
    app: Flask, team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    team.take()
    web = _web(app)
    client = app.test_client()
    unlock(client)
    assert client.get("/").status_code == 200 and web.vault.holds_cases()
    held_while_logging: list[tuple[object, bool]] = []
    record = Inbox.record

    def watched(inbox: Inbox, action: str, item: str | None = None, **data: Any) -> Event:
        if action == "locked":
            # What a pull or another request could still get while the line is written.
            held_while_logging.append((web.vault.key_holder(), web.vault.holds_cases()))
        return record(inbox, action, item, **data)

    monkeypatch.setattr(Inbox, "record", watched)
    assert post(client, "/lock", {}).status_code == 303
    assert held_while_logging == [(None, False)]
