"""The inbox list: filters, overdue first, the tab title's count; the export's warning."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import pytest
from flask import Flask

from haven.partner.case import Case
from haven.partner.inbox import Inbox
from haven.partner.team import remove_member
from haven.partner.web.alerts import Alerts, alert_line
from haven.partner.web.security import SESSION_COOKIE
from haven.partner.web.state import STATE_KEY, WebState
from tests.haven.partner.conftest import wait_until
from tests.haven.partner.web.conftest import MakeApp, Team, post, soon, token, unlock

ROW = re.compile(r'<tr class="case[^"]*" data-id="([0-9a-f]{64})">')


def _listed(page: str) -> list[str]:
    return ROW.findall(page)


def test_a_filter_narrows_the_list_and_overdue_cases_come_first(app: Flask, team: Team) -> None:
    later = team.take(urgency="normal", deadline=soon(48))
    urgent = team.take(urgency="urgent", deadline=soon(10))
    overdue = team.take(urgency="normal", deadline=soon(-1))
    client = app.test_client()
    unlock(client)
    assert _listed(client.get("/").get_data(as_text=True)) == [overdue, urgent, later]
    assert _listed(client.get("/?urgency=urgent").get_data(as_text=True)) == [urgent]
    assert _listed(client.get("/?due=overdue").get_data(as_text=True)) == [overdue]
    assert _listed(client.get("/?due=24h").get_data(as_text=True)) == [overdue, urgent]
    post(client, f"/cases/{urgent}/assign", {"to": "bob"})
    assert _listed(client.get("/?assignee=bob").get_data(as_text=True)) == [urgent]
    assert _listed(client.get("/?assignee=-").get_data(as_text=True)) == [overdue, later]
    post(client, f"/cases/{overdue}/status", {"status": "in_progress"})
    # Started on: no longer overdue (the router's deadline is about a first answer).
    assert _listed(client.get("/?status=new").get_data(as_text=True)) == [urgent, later]
    assert client.get("/?urgency=nonsense").status_code == 400


def test_a_removed_members_cases_can_still_be_picked_by_assignee(app: Flask, team: Team) -> None:
    theirs = team.take()
    team.take()
    client = app.test_client()
    unlock(client)
    post(client, f"/cases/{theirs}/assign", {"to": "bob"})
    remove_member(team.root, team.unlocked, "bob")
    page = client.get("/").get_data(as_text=True)
    # Offered in the filter, marked as gone, so their cases can be found and reassigned.
    assert re.search(r'<option value="bob"[^>]*>\s*bob \(removed\)', page), page
    assert _listed(client.get("/?assignee=bob").get_data(as_text=True)) == [theirs]


def test_the_tab_title_counts_new_cases(app: Flask, team: Team) -> None:
    first = team.take()
    team.take()
    client = app.test_client()
    unlock(client)
    assert "<title>(2) " in client.get("/").get_data(as_text=True)
    post(client, f"/cases/{first}/status", {"status": "closed"})
    assert "<title>(1) " in client.get("/").get_data(as_text=True)
    state = client.get("/state").get_json()
    assert state["new"] == 1 and state["overdue"] == 0 and state["locked"] is False


def test_what_another_process_writes_shows_at_the_next_look(app: Flask, team: Team) -> None:
    first = team.take()
    client = app.test_client()
    unlock(client)
    assert _listed(client.get("/").get_data(as_text=True)) == [first]
    # As a CLI pull, status or decline in another process: the same
    # database, never through this app.
    second = team.take()
    assert set(_listed(client.get("/").get_data(as_text=True))) == {first, second}
    assert client.get("/state").get_json()["new"] == 2
    team.inbox().record("status", first, status="closed")
    assert client.get("/state").get_json()["new"] == 1
    assert _listed(client.get("/?status=closed").get_data(as_text=True)) == [first]


def test_the_export_needs_the_confirmation_and_is_recorded(app: Flask, team: Team) -> None:
    request_id = team.take("text for the records")
    client = app.test_client()
    unlock(client)
    warning = client.get(f"/cases/{request_id}/export").get_data(as_text=True)
    assert 'id="export-confirm"' in warning
    csrf = token(client, f"/cases/{request_id}/export")
    refused = post(client, f"/cases/{request_id}/export", {}, csrf)
    assert refused.status_code == 400 and "text for the records" not in refused.headers.get(
        "Content-Disposition", ""
    )
    assert "exported" not in [e.action for e in team.inbox().events(request_id)]
    answer = post(client, f"/cases/{request_id}/export", {"confirm": "yes"}, csrf)
    assert answer.status_code == 200 and answer.mimetype == "text/plain"
    assert answer.headers["Content-Disposition"].startswith("attachment;")
    assert "text for the records" in answer.get_data(as_text=True)
    assert [e.member for e in team.inbox().events(request_id) if e.action == "exported"] == [
        "alice"
    ]


def test_a_note_that_is_empty_or_too_long_is_refused_naming_the_field(
    app: Flask, team: Team
) -> None:
    request_id = team.take()
    client = app.test_client()
    unlock(client)
    empty = post(client, f"/cases/{request_id}/note", {"text": "  "})
    assert empty.status_code == 400 and 'id="error"' in empty.get_data(as_text=True)
    long = post(client, f"/cases/{request_id}/note", {"text": "x" * 4001})
    assert long.status_code == 400 and "4000" in long.get_data(as_text=True)
    assert team.inbox().case(request_id).notes == ()


def test_the_alerts_hook_gets_only_the_counts(
    make_app: MakeApp, team: Team, tmp_path: Path
) -> None:
    out = tmp_path / "alerts.txt"
    hook = (sys.executable, "-c", f"import sys; open({str(out)!r}, 'a').write(sys.stdin.read())")
    app = make_app(alert_command=hook)
    web = app.extensions[STATE_KEY]
    assert isinstance(web, WebState)
    team.take("canary-alert-7c1", urgency="urgent", deadline=soon(-2))
    team.take("canary-alert-7c1")
    client = app.test_client()
    unlock(client)
    web.puller.alert()
    wait_until(lambda: not web.puller.alerts.busy(), what="the first alert")
    web.puller.alert()  # the same counts: not sent again
    web.vault.changed()
    team.take()
    web.puller.alert()
    wait_until(lambda: not web.puller.alerts.busy(), what="the second alert")
    assert out.read_text() == f"{alert_line(2, 1)}\n{alert_line(3, 1)}\n"
    assert out.read_text().splitlines() == ["2 new, 1 overdue", "3 new, 1 overdue"]


def test_an_export_that_meets_the_last_lock_goes_to_the_unlock_page(
    app: Flask, team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    request_id = team.take("exported only while unlocked")
    client = app.test_client()
    unlock(client)
    csrf = token(client, f"/cases/{request_id}/export")
    web = app.extensions[STATE_KEY]
    cookie = client.get_cookie(SESSION_COOKIE)
    assert isinstance(web, WebState) and cookie is not None
    session = web.vault.session(cookie.value, touch=False)
    assert session is not None
    opened = Inbox.case

    def case_then_lock(inbox: Inbox, case_id: str) -> Case:
        # The member's last session is locked by the idle sweep while the export runs.
        found = opened(inbox, case_id)
        web.vault.lock(session, idle=True)
        return found

    monkeypatch.setattr(Inbox, "case", case_then_lock)
    answer = post(client, f"/cases/{request_id}/export", {"confirm": "yes"}, csrf)
    assert answer.status_code == 303 and answer.headers["Location"] == "/unlock"
    assert "exported only while unlocked" not in answer.get_data(as_text=True)
    monkeypatch.undo()
    assert "exported" not in [e.action for e in team.inbox().events(request_id)]


def test_a_hook_that_hangs_is_stopped_after_its_timeout(tmp_path: Path) -> None:
    alerts = Alerts(("sleep", "60"), timeout=0.5)
    started = time.monotonic()
    assert alerts.update(1, 0)
    # Started, not waited for: the caller (a pull, the sweeper) goes on at once.
    assert time.monotonic() - started < 0.5 and alerts.busy()
    assert not alerts.update(2, 0)  # one hook at a time
    wait_until(lambda: not alerts.busy(), what="the hung hook stopped", timeout=10)
    assert alerts.update(2, 0)
    alerts.stop()
    assert not alerts.busy()


def test_a_change_while_the_hook_runs_is_alerted_when_it_ends(tmp_path: Path) -> None:
    out = tmp_path / "alerts.txt"
    gate = tmp_path / "gate"
    # Each hook appends its line, then waits for the gate: the second change
    # comes while the first hook still runs.
    hook = (
        sys.executable,
        "-c",
        "import os, sys, time\n"
        f"open({str(out)!r}, 'a').write(sys.stdin.read())\n"
        f"while not os.path.exists({str(gate)!r}): time.sleep(0.05)\n",
    )
    alerts = Alerts(hook)
    assert alerts.update(1, 0)
    wait_until(lambda: out.exists() and out.read_text() != "", what="the first alert")
    assert not alerts.update(2, 0)  # held back: one hook at a time
    gate.touch()
    # No further update: the sweeper's reap alone sends what was held back.
    wait_until(
        lambda: (alerts.reap(), out.read_text())[1].count("\n") == 2, what="the held-back alert"
    )
    wait_until(lambda: not alerts.busy(), what="the second hook")
    assert out.read_text() == f"{alert_line(1, 0)}\n{alert_line(2, 0)}\n"
    alerts.stop()


def test_the_hook_gets_no_secret_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HAVEN_AMQP_URL", "amqp://alpha:broker-password@127.0.0.1/%2F")
    seen = tmp_path / "environment"
    show = f"import os, sys; sys.stdin.read(); open({str(seen)!r}, 'w').write(' '.join(os.environ))"
    alerts = Alerts((sys.executable, "-c", show))
    assert alerts.update(1, 0)
    wait_until(lambda: not alerts.busy(), what="the hook")
    names = set(seen.read_text().split())
    # LC_CTYPE: set by Python itself in the hook under a C locale.
    assert "PATH" in names and names <= {"PATH", "LANG", "HOME", "LC_CTYPE"}
