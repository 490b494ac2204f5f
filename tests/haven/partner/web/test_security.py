"""Headers, cookies, CSRF and the unlock: what keeps a team's cases to the team."""

from __future__ import annotations

import logging
import re
import threading
import time

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from haven.partner.outbox import MailboxSettings
from haven.partner.web.security import CONTENT_SECURITY_POLICY, SESSION_COOKIE
from tests.haven.partner.conftest import RequesterKeys, b64
from tests.haven.partner.web.conftest import (
    SECOND,
    MakeApp,
    Team,
    csrf_of,
    post,
    token,
    unlock,
)
from tests.team_inbox import MEMBER, MEMBER_PASSPHRASE

ERROR = re.compile(r'<p id="error" role="alert">([^<]+)</p>')


def _assert_headers(answer: TestResponse, path: str) -> None:
    answer.close()  # a static file's answer holds the file open
    headers = answer.headers
    assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, path
    assert headers["Cache-Control"] == "no-store", path
    # same-origin: our own forms' POSTs carry their real Origin, other sites learn nothing.
    assert headers["Referrer-Policy"] == "same-origin", path
    assert headers["X-Content-Type-Options"] == "nosniff", path
    assert headers["X-Frame-Options"] == "DENY", path


def test_every_answer_has_the_strict_policy_and_no_store(app: Flask, team: Team) -> None:
    request_id = team.take()
    client = app.test_client()
    locked = ["/unlock", "/", "/state", f"/cases/{request_id}", "/static/inbox.css", "/nowhere"]
    for path in locked:
        _assert_headers(client.get(path), path)
    _assert_headers(client.post("/unlock", data={}), "POST /unlock")
    unlock(client)
    for path in [
        "/",
        "/?urgency=urgent",
        "/?urgency=nonsense",
        f"/cases/{request_id}",
        f"/cases/{request_id}/export",
        "/cases/not-an-id",
        "/state",
        "/static/inbox.js",
    ]:
        _assert_headers(client.get(path), path)
    _assert_headers(post(client, f"/cases/{request_id}/note", {"text": ""}), "POST note")


def test_the_session_cookie_is_strict_httponly_and_secure_under_tls(
    make_app: MakeApp, team: Team
) -> None:
    for tls in (False, True):
        client = make_app(tls=tls).test_client()
        answer = unlock(client)
        cookie = next(
            c for c in answer.headers.getlist("Set-Cookie") if c.startswith(f"{SESSION_COOKIE}=")
        )
        attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
        assert (
            "httponly" in attributes and "samesite=strict" in attributes and "path=/" in attributes
        )
        assert ("secure" in attributes) == tls
        assert not any(a.startswith(("max-age", "expires")) for a in attributes)


def test_a_post_without_the_token_or_from_another_site_is_refused(app: Flask, team: Team) -> None:
    request_id = team.take()
    client = app.test_client()
    unlock(client)
    path = f"/cases/{request_id}/status"
    good = token(client)
    refused = [
        client.post(path, data={"status": "closed"}),
        client.post(path, data={"status": "closed", "csrf": "x" + good}),
        client.post(
            path,
            data={"status": "closed", "csrf": good},
            headers={"Sec-Fetch-Site": "cross-site"},
        ),
        client.post(
            path,
            data={"status": "closed", "csrf": good},
            headers={"Origin": "https://elsewhere.example"},
        ),
    ]
    # An opaque origin (a sandboxed frame, a data: or file: page), whatever else it says.
    for fetch_site in ({"Sec-Fetch-Site": "same-site"}, {"Sec-Fetch-Site": "same-origin"}, {}):
        refused.append(
            client.post(
                path,
                data={"status": "closed", "csrf": good},
                headers={**fetch_site, "Origin": "null"},
            )
        )
    assert [answer.status_code for answer in refused] == [403] * 7
    assert team.inbox().case(request_id).status == "new"
    # Our own form, as a browser posts it under Referrer-Policy same-origin.
    own = client.post(
        path,
        data={"status": "closed", "csrf": good},
        headers={"Sec-Fetch-Site": "same-origin", "Origin": "http://localhost"},
    )
    assert own.status_code == 303
    assert team.inbox().case(request_id).status == "closed"


def test_the_unlock_form_needs_its_own_token(app: Flask, team: Team) -> None:
    client = app.test_client()
    answer = client.post(
        "/unlock", data={"member": MEMBER, "passphrase": MEMBER_PASSPHRASE, "csrf": "forged"}
    )
    assert answer.status_code == 403
    assert client.get("/").status_code == 303


def test_a_wrong_passphrase_and_an_unknown_member_get_the_same_refusal(
    app: Flask, team: Team
) -> None:
    client = app.test_client()
    wrong = unlock(client, MEMBER, "not the passphrase at all")
    unknown = unlock(client, "mallory", MEMBER_PASSPHRASE)
    assert wrong.status_code == unknown.status_code == 403
    said = [ERROR.search(a.get_data(as_text=True)) for a in (wrong, unknown)]
    assert said[0] is not None and said[1] is not None
    assert said[0].group(1) == said[1].group(1)
    assert client.get_cookie(SESSION_COOKIE) is None
    assert client.get("/").status_code == 303
    assert unlock(client, SECOND, "another test-only passphrase").status_code == 303


def test_an_inbox_that_cannot_be_read_gives_a_page_not_a_crash(app: Flask, team: Team) -> None:
    team.take()
    client = app.test_client()
    unlock(client)
    database = team.root / "inbox.sqlite"
    database.write_bytes(b"not a database any more")
    answer = client.get("/")
    assert answer.status_code == 503
    assert 'id="error"' in answer.get_data(as_text=True)


def test_a_second_unlock_page_keeps_the_token_of_the_form_on_screen(app: Flask, team: Team) -> None:
    client = app.test_client()
    form = client.get("/unlock").get_data(as_text=True)
    client.get("/favicon.ico")  # a browser's own request, sent on to /unlock
    client.get("/unlock")  # another tab
    answer = client.post(
        "/unlock",
        data={"member": MEMBER, "passphrase": MEMBER_PASSPHRASE, "csrf": csrf_of(form)},
        headers={"Sec-Fetch-Site": "same-origin", "Origin": "http://localhost"},
    )
    assert answer.status_code == 303 and answer.headers["Location"] == "/"


def test_a_cookie_that_is_no_token_of_ours_gives_the_unlock_page_not_a_crash(
    app: Flask, team: Team
) -> None:
    unlock(app.test_client())
    for cookie in ("\u00e9t\u00e9", "x" * 43 + "\u00e9", "", "a" * 4000):
        client = app.test_client()
        client.set_cookie(SESSION_COOKIE, cookie)
        answer = client.get("/")
        assert answer.status_code == 303 and answer.headers["Location"] == "/unlock", cookie
        page = client.post(
            "/cases/" + "ab" * 32 + "/note",
            data={"text": "x", "csrf": "\u00e9" * 43},
            headers={"Sec-Fetch-Site": "same-origin"},
        )
        assert page.status_code == 303, cookie


def test_a_request_from_another_page_gets_no_session_and_is_no_activity(
    make_app: MakeApp, team: Team
) -> None:
    request_id = team.take("not for other pages")
    idle = 60.0
    client = make_app(idle_lock=idle).test_client()
    unlock(client)
    for site in ("same-site", "cross-site"):
        for _ in range(3):
            team.clock.now += idle / 4
            answer = client.get(
                f"/cases/{request_id}",
                headers={"Sec-Fetch-Site": site, "Sec-Fetch-Mode": "no-cors"},
            )
            assert answer.status_code == 303 and answer.headers["Location"] == "/unlock"
            state = client.get("/state", headers={"Sec-Fetch-Site": site}).get_json()
            assert state == {"locked": True}
        team.clock.now -= 3 * idle / 4
    assert "viewed" not in [e.action for e in team.inbox().events(request_id)]
    # None of them counted: the member's own next request finds the session idle.
    team.clock.now += idle
    assert client.get("/", headers={"Sec-Fetch-Site": "same-origin"}).status_code == 303


def test_the_browser_is_asked_to_keep_no_passphrase_text_or_copy(
    make_app: MakeApp, team: Team
) -> None:
    requester = RequesterKeys()
    request_id = team.take(
        extra={
            "reply_key": b64(requester.reply_key.public_key.to_bytes()),
            "mailbox_id": b64(requester.mailbox_id),
            "access_hash": b64(requester.access_hash),
        }
    )
    # Never reached: with an intake URL the page offers the reply form.
    client = make_app(mailbox=MailboxSettings.parse("http://127.0.0.1:9", "test")).test_client()
    form = client.get("/unlock").get_data(as_text=True)
    passphrase = re.search(r'<input id="passphrase"[^>]*>', form)
    assert passphrase is not None and 'autocomplete="off"' in passphrase.group(0)
    unlock(client)
    page = client.get(f"/cases/{request_id}").get_data(as_text=True)
    areas = re.findall(r"<textarea[^>]*>", page)
    assert len(areas) == 2 and all('autocomplete="off"' in area for area in areas)
    locked = post(client, "/lock", {})
    assert locked.status_code == 303 and locked.headers["Clear-Site-Data"] == '"cache"'


def test_only_its_own_host_names_are_answered(make_app: MakeApp, team: Team) -> None:
    app = make_app(bind="192.0.2.10", hosts=("inbox.example.org",))
    for host in (
        "localhost",
        "127.0.0.1:8470",
        "[::1]:8470",
        "192.0.2.10:8470",
        "Inbox.Example.org",
    ):
        answer = app.test_client().get("/unlock", headers={"Host": host})
        assert answer.status_code == 200 and 'id="unlock-form"' in answer.get_data(as_text=True)
    # A page that rebound its own name to this machine, trying passphrases through a browser.
    for host in ("rebind.attacker.example:8470", "inbox.example.org.attacker.example", ""):
        client = app.test_client()
        page = client.get("/unlock", headers={"Host": host})
        assert page.status_code == 400 and 'id="unlock-form"' not in page.get_data(as_text=True)
        tried = client.post(
            "/unlock",
            data={"member": MEMBER, "passphrase": MEMBER_PASSPHRASE, "csrf": "x" * 43},
            headers={"Host": host, "Sec-Fetch-Site": "same-origin"},
        )
        assert tried.status_code == 400 and client.get_cookie(SESSION_COOKIE) is None


def test_unlock_attempts_go_one_at_a_time_with_a_pause_after_a_refusal(
    make_app: MakeApp, team: Team, caplog: pytest.LogCaptureFixture
) -> None:
    pause = 0.3
    app = make_app(failed_unlock_delay=pause)
    clients = [app.test_client() for _ in range(3)]
    forms = [csrf_of(c.get("/unlock").get_data(as_text=True)) for c in clients]
    answers: list[int] = []

    def guess(client: FlaskClient, csrf: str) -> None:
        answer = client.post(
            "/unlock",
            data={"member": "mallory", "passphrase": "a guessed passphrase", "csrf": csrf},
            headers={"Sec-Fetch-Site": "same-origin"},
        )
        answers.append(answer.status_code)

    caplog.set_level(logging.INFO)
    started = time.monotonic()
    threads = [
        threading.Thread(target=guess, args=pair) for pair in zip(clients, forms, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [403] * 3
    assert time.monotonic() - started >= 3 * pause
    refusals = [r.getMessage() for r in caplog.records if "unlock was refused" in r.getMessage()]
    assert len(refusals) == 3 and "mallory" not in caplog.text
