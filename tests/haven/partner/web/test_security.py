"""Headers, cookies, CSRF and the unlock: what keeps a team's cases to the team."""

from __future__ import annotations

import re

from flask import Flask
from werkzeug.test import TestResponse

from haven.partner.web.security import CONTENT_SECURITY_POLICY, SESSION_COOKIE
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
    assert headers["Referrer-Policy"] == "no-referrer", path
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
    refused.append(
        client.post(
            path,
            data={"status": "closed", "csrf": good},
            headers={"Sec-Fetch-Site": "same-site", "Origin": "null"},
        )
    )
    assert [answer.status_code for answer in refused] == [403] * 5
    assert team.inbox().case(request_id).status == "new"
    # Our own form, as Chromium posts it under Referrer-Policy no-referrer.
    own = client.post(
        path,
        data={"status": "closed", "csrf": good},
        headers={"Sec-Fetch-Site": "same-origin", "Origin": "null"},
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
        headers={"Sec-Fetch-Site": "same-origin", "Origin": "null"},
    )
    assert answer.status_code == 303 and answer.headers["Location"] == "/"
