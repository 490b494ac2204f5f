"""The partners' inbox in a real Chromium, against `haven partner serve` on a real network.

Each partner's inbox is served by the real command (`haven partner serve`,
gunicorn, in a subprocess of its own on 127.0.0.1) over the team inbox the
network's partners keep, with the real broker (a vhost of this test's own),
the real router and the real intake. Requests are sealed to real keys and
sent through the intake; a member works on them only through the pages.

- A member unlocks, sees the requests, filters by urgency, opens a case,
  assigns it to a second member, adds a note, sets a status and replies to
  the requester (who reads the reply with `haven status` from the code
  phrase alone), and declines another case, which the router then gives to
  the next partner, whose own inbox shows it.
- A removed member's passphrase no longer unlocks the inbox, in the
  browser or on the command line, and their wrap is gone from the file.
- The idle lock hides every case: the open tab shows the unlock screen and
  nothing of the case is left in its DOM.
- axe-core finds no serious or critical violation on any inbox screen
  (unlock, inbox, case, export confirmation), in Russian, Ukrainian and
  English.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page

from haven.envelope import digest, inspect
from haven.partner import db
from haven.partner.team import unlock as team_unlock
from haven.replies import access_hash, derive, format_code, generate, parse
from tests.haven.partner.conftest import (
    EXAMPLE,
    Network,
    b64,
    fast_router,
    running_router,
    verified_loader,
    wait_until,
)
from tests.repo import REPO
from tests.team_inbox import MEMBER, MEMBER_PASSPHRASE, add
from tests.web.axe import assert_accessible
from tests.web.conftest import screenshot_path
from worker.choice import choose_partner

pytestmark = pytest.mark.broker

SECOND = "bob"
SECOND_PASSPHRASE = "вторая тестовая фраза участника"
# What the requesters wrote: each must show in the case, and never in a log.
CANARY = "Канарейка-3c9d: мобилизовали, сейчас в Казахстане"
DECLINED = "Канарейка-decl-81fa: нужна помощь с документами"
OTHER = "Канарейка-other-27b0: вопрос о статусе"
NOTE = "Позвонить юристу в понедельник. Метка-заметки-6d1e."
REPLY = "Здравствуйте! Мы получили вашу заявку.\nНапишите, в каком вы городе. Метка-ответа-0a5c."
DESKTOP = 1280
SERVE_START_SECONDS = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - a local test URL
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


Serve = Callable[..., str]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    """Start `haven partner serve` for a partner of the network; its base URL. Stopped after."""
    running: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(
        network: Network,
        partner: str,
        *,
        idle_lock: float = 600,
        language: str = "ru",
    ) -> str:
        port = free_port()
        url_file = network.root / "broker-url"
        url_file.write_text(network.broker_url + "\n")
        url_file.chmod(0o600)
        log_file = tmp_path / f"serve-{partner}-{len(running)}.log"
        command = [
            sys.executable, "-m", "haven.cli.main", "partner", "serve",
            "--inbox", str(network.inbox(partner)), "--partner", partner,
            "--broker-url-file", str(url_file),
            "--intake-url", network.intake_url, "--port", str(port),
            "--idle-lock", str(idle_lock), "--pull-every", "1", "--language", language,
        ]  # fmt: skip
        with log_file.open("wb") as log:
            process = subprocess.Popen(
                command,
                cwd=network.root,
                env={**os.environ, "HAVEN_AMQP_URL": "", "HAVEN_INTAKE_URL": ""},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        running.append((process, log_file))
        url = f"http://127.0.0.1:{port}"

        def up() -> bool:
            if process.poll() is not None:
                pytest.fail(f"haven partner serve exited: {log_file.read_text()[-2000:]}")
            return answers(url + "/unlock")

        wait_until(up, timeout=SERVE_START_SECONDS, what="haven partner serve to listen")
        return url

    yield start
    for process, _ in running:
        process.terminate()
    for process, log_file in running:
        process.wait(30)
        # Ids and outcomes only: no requester's text, nor any note or reply.
        logged = log_file.read_text(encoding="utf-8", errors="replace")
        for text in (CANARY, DECLINED, OTHER, NOTE, REPLY, "Канарейка", "Метка"):
            assert text not in logged, log_file.name
            assert base64.b64encode(text.encode()).decode()[:16] not in logged


def request_content(message: str, code_text: str | None = None) -> bytes:
    """A desertion request as a requester's device writes it; with a code, answered through Haven."""
    document = json.loads(EXAMPLE)
    document["fields"]["message"] = message
    if code_text is not None:
        keys = derive(parse(code_text))
        document["fields"]["contact_channel"] = "haven_reply"
        document["fields"].pop("contact_handle", None)
        document["reply_key"] = b64(keys.reply_key.public_key.to_bytes())
        document["mailbox_id"] = b64(keys.mailbox_id)
        document["access_hash"] = b64(access_hash(keys.access_secret))
    return json.dumps(document, ensure_ascii=False).encode()


def send_to(network: Network, partner: str, content: bytes, *, urgency: str) -> str:
    """Seal until the real router's choice (a draw fixed by the envelope) is `partner`; send it."""
    for _ in range(200):
        body = network.seal(content, urgency=urgency)
        chosen = choose_partner(network.directory, inspect(body), (), digest(body))
        if chosen is not None and chosen.id == partner:
            request_id = network.submit(body)
            assert request_id == digest(body)
            return request_id
    pytest.fail(f"no envelope drawn for {partner}")


def desktop(new_context: Callable[..., BrowserContext]) -> Page:
    """A member's laptop: a wide window, Russian, a fresh profile."""
    return new_context(width=DESKTOP).new_page()


def unlock(page: Page, url: str, member: str = MEMBER, passphrase: str = MEMBER_PASSPHRASE) -> None:
    page.goto(url + "/")
    page.wait_for_selector("#unlock-form")
    page.fill("#member", member)
    page.fill("#passphrase", passphrase)
    page.click("#unlock-button")


def case_ids(page: Page) -> list[str]:
    ids: list[str] = page.eval_on_selector_all("tr.case", "rows => rows.map(row => row.dataset.id)")
    return ids


def wait_for_cases(page: Page, url: str, expected: set[str], what: str) -> None:
    """Reload the inbox until it lists exactly `expected` (the app pulls every second)."""

    def listed() -> bool:
        page.goto(url + "/")
        return set(case_ids(page)) == expected

    wait_until(listed, timeout=60, what=what)


def requester_thread(network: Network, code_text: str) -> dict[str, Any]:
    """What the requester reads with `haven status`, from the code phrase alone."""
    code_file = network.root / "code.txt"
    code_file.write_text(code_text + "\n", encoding="utf-8")
    code_file.chmod(0o600)
    result = network.haven(
        "status", "--json", "--code-file", code_file, "--url", network.intake_url,
        env={"HAVEN_NETWORK_VERIFY_KEY_FILE": str(network.verify_key_file)},
    )  # fmt: skip
    assert result.code == 0, result.err
    thread: dict[str, Any] = json.loads(result.out)
    return thread


def choose_option(page: Page, select: str, value: str) -> str:
    """Choose `value` in a select; the text the member reads for it."""
    page.select_option(select, value)
    text: str = page.eval_on_selector(select, "s => s.options[s.selectedIndex].textContent")
    return text.strip()


def test_a_member_works_the_inbox_and_a_declined_case_goes_to_the_next_partner(
    make_network: Callable[..., Network],
    new_context: Callable[..., BrowserContext],
    serve: Serve,
) -> None:
    network = make_network()
    alpha_inbox = network.inbox("alpha")
    add(alpha_inbox, team_unlock(alpha_inbox, MEMBER, MEMBER_PASSPHRASE), SECOND, SECOND_PASSPHRASE)
    code_text = format_code(generate("ru"))
    with running_router(fast_router(network), verified_loader(network)):
        urgent = send_to(network, "alpha", request_content(CANARY, code_text), urgency="urgent")
        declined = send_to(network, "alpha", request_content(DECLINED), urgency="normal")
        other = send_to(network, "alpha", request_content(OTHER), urgency="normal")
        alpha = serve(network, "alpha")
        bravo = serve(network, "bravo")

        page = desktop(new_context)
        page.goto(alpha + "/")
        assert page.url == alpha + "/unlock"
        assert_accessible(page, "the unlock screen")
        unlock(page, alpha)
        page.wait_for_selector("#case-count")
        assert page.inner_text("#signed-in-member") == MEMBER
        wait_for_cases(page, alpha, {urgent, declined, other}, "the three requests pulled")

        # The cases are listed as soon as they are stored; the pull that took
        # them ends (and says when) only after it sent their "received"
        # statuses, a moment later on a busy machine.
        def pull_ended() -> bool:
            page.goto(alpha + "/")
            return page.is_visible("#last-pulled")

        wait_until(pull_ended, timeout=60, what="the pull's end shown")
        # The tab title counts the new cases.
        assert page.title().startswith("(3) ")
        assert_accessible(page, "the inbox")
        page.screenshot(path=screenshot_path("ru-inbox"), full_page=True)

        # Filtered by urgency: the urgent request only.
        choose_option(page, "#filter-urgency", "urgent")
        page.click("#filter-apply")
        page.wait_for_url("**/?*urgency=urgent*")
        assert case_ids(page) == [urgent]
        assert_accessible(page, "the inbox, filtered")

        # The case, readable: the requester's text under the form's labels.
        page.click(f'tr.case[data-id="{urgent}"] a.case-link')
        page.wait_for_selector("#case-title")
        assert CANARY in page.inner_text("#fields")
        assert_accessible(page, "a case")

        page.select_option("#assign-to", SECOND)
        page.click("#assign-button")
        page.wait_for_selector(f'#case-assignee:text-is("{SECOND}")')

        page.fill("#note-text", NOTE)
        page.click("#note-button")
        page.wait_for_selector("#notes")
        assert NOTE in page.inner_text("#notes")

        shown = choose_option(page, "#status-select", "in_progress")
        page.click("#status-button")
        page.wait_for_selector(f'#case-status:text-is("{shown}")')

        page.fill("#reply-text", REPLY)
        choose_option(page, "#reply-state", "need_info")
        page.click("#reply-button")
        page.wait_for_selector("#thread")
        assert REPLY.split("\n")[1] in page.inner_text("#thread")
        assert_accessible(page, "a case with its note, history and thread")
        page.screenshot(path=screenshot_path("ru-inbox-case"), full_page=True)
        # Everything done is in the case's history, in the member's name.
        assert page.inner_text("#history").count(MEMBER) >= 4

        # The requester reads the reply exactly, from the code phrase alone.
        thread = requester_thread(network, code_text)
        # (A reply sent with a status travels as that status, its text the reply.)
        assert thread["status"] == "need_info"
        received, answered = thread["messages"]
        assert (received["kind"], received["state"]) == ("status", "received")
        assert (answered["kind"], answered["state"]) == ("status", "need_info")
        assert answered["text"] == REPLY
        assert answered["partner"] == "alpha" and answered["request"] == urgent

        page.click("#export-link")
        page.wait_for_selector("#export-form")
        assert_accessible(page, "the export confirmation")
        page.click("#export-cancel")

        # Declined: gone from this inbox, and the router gives it to bravo.
        page.goto(f"{alpha}/cases/{declined}")
        page.select_option("#decline-reason", "no-capacity")
        page.click("#decline-button")
        page.wait_for_url(alpha + "/")
        assert set(case_ids(page)) == {urgent, other}
        assert DECLINED not in page.content()

        second = desktop(new_context)
        unlock(second, bravo)
        second.wait_for_selector("#case-count")
        wait_for_cases(second, bravo, {declined}, "the declined request in bravo's inbox")
        second.click(f'tr.case[data-id="{declined}"] a.case-link')
        second.wait_for_selector("#fields")
        assert DECLINED in second.inner_text("#fields")

    # The second member sees the case assigned to them.
    page.click("#lock-button")
    page.wait_for_selector("#unlock-form")
    unlock(page, alpha, SECOND, SECOND_PASSPHRASE)
    page.wait_for_selector("#case-count")
    choose_option(page, "#filter-assignee", SECOND)
    page.click("#filter-apply")
    page.wait_for_url("**/?*assignee=*")
    assert case_ids(page) == [urgent]


def test_a_removed_members_passphrase_unlocks_nothing(
    make_network: Callable[..., Network],
    new_context: Callable[..., BrowserContext],
    serve: Serve,
) -> None:
    network = make_network()
    inbox = network.inbox("alpha")
    add(inbox, team_unlock(inbox, MEMBER, MEMBER_PASSPHRASE), SECOND, SECOND_PASSPHRASE)
    with db.transaction(inbox) as connection:
        (wrap,) = connection.execute(
            "SELECT wrap FROM members WHERE handle = ?", (SECOND,)
        ).fetchone()
    database = inbox / "inbox.sqlite"
    assert bytes(wrap) in database.read_bytes()  # what the check below looks for is findable
    url = serve(network, "alpha")
    page = desktop(new_context)
    unlock(page, url, SECOND, SECOND_PASSPHRASE)
    page.wait_for_selector("#case-count")  # before: bob's passphrase opens it
    page.click("#lock-button")
    page.wait_for_selector("#unlock-form")

    removed = network.haven(
        "partner", "team", "remove", "--inbox", inbox, "--member", MEMBER,
        "--passphrase-file", network.member_passphrase_file, SECOND,
    )  # fmt: skip
    assert removed.code == 0, removed.err

    unlock(page, url, SECOND, SECOND_PASSPHRASE)
    page.wait_for_selector("#error")
    assert page.url == url + "/unlock"
    assert page.locator("#case-count").count() == 0
    assert_accessible(page, "the unlock screen with its error")
    # Nor on the command line.
    bob_file = network.root / "bob-passphrase"
    bob_file.write_text(SECOND_PASSPHRASE + "\n")
    listed = network.haven(
        "partner", "list", "--inbox", inbox, "--member", SECOND, "--passphrase-file", bob_file
    )
    assert listed.code != 0
    assert len(listed.err.strip().splitlines()) == 1, listed.err
    # The wrap itself is gone from the file's bytes, not only from the table.
    assert bytes(wrap) not in database.read_bytes()
    # The remaining member still unlocks.
    unlock(page, url)
    page.wait_for_selector("#case-count")


def test_the_idle_lock_hides_every_case_in_an_open_tab(
    make_network: Callable[..., Network],
    new_context: Callable[..., BrowserContext],
    serve: Serve,
) -> None:
    network = make_network()
    with running_router(fast_router(network), verified_loader(network)):
        request_id = send_to(network, "alpha", request_content(CANARY), urgency="urgent")
        url = serve(network, "alpha", idle_lock=3)
        page = desktop(new_context)
        unlock(page, url)
        page.wait_for_selector("#case-count")
        wait_for_cases(page, url, {request_id}, "the request pulled")
        page.click("a.case-link")
        page.wait_for_selector("#fields")
        assert CANARY in page.content()
        # Nobody touches the tab: after the idle time it shows the unlock screen.
        page.wait_for_url(url + "/unlock", timeout=15_000)
        page.wait_for_selector("#unlock-form")
        content = page.content()
        for text in (CANARY, "Канарейка", request_id[:8]):
            assert text not in content
        assert page.locator("#fields, #cases, #thread, #notes").count() == 0
        # The server locked too: the case's address leads to the unlock screen.
        page.goto(f"{url}/cases/{request_id}")
        assert page.url == url + "/unlock"
        assert CANARY not in page.content()


@pytest.mark.parametrize("language", ["ru", "uk", "en"])
def test_every_inbox_screen_passes_axe(
    make_network: Callable[..., Network],
    new_context: Callable[..., BrowserContext],
    serve: Serve,
    language: str,
) -> None:
    network = make_network()
    with running_router(fast_router(network), verified_loader(network)):
        first = send_to(network, "alpha", request_content(CANARY), urgency="urgent")
        second = send_to(network, "alpha", request_content(OTHER), urgency="normal")
        url = serve(network, "alpha", language=language)
        for width in (DESKTOP, 360):
            page = new_context(width=width).new_page()
            page.goto(url + "/")
            assert page.locator("html").get_attribute("lang") == language
            assert_accessible(page, f"the unlock screen ({language}, {width} px)")
            unlock(page, url, MEMBER, "not the passphrase")
            page.wait_for_selector("#error")
            assert_accessible(page, f"the unlock screen with its error ({language}, {width} px)")
            unlock(page, url)
            page.wait_for_selector("#case-count")
            wait_for_cases(page, url, {first, second}, "the requests pulled")
            assert_accessible(page, f"the inbox ({language}, {width} px)")
            page.goto(f"{url}/?due=overdue")
            assert_accessible(page, f"the inbox with no case shown ({language}, {width} px)")
            page.goto(f"{url}/cases/{first}")
            page.fill("#note-text", NOTE)
            page.click("#note-button")
            page.wait_for_selector("#notes")
            assert_accessible(page, f"a case ({language}, {width} px)")
            page.click("#export-link")
            page.wait_for_selector("#export-form")
            assert_accessible(page, f"the export confirmation ({language}, {width} px)")
            page.goto(f"{url}/cases/{'0' * 64}")
            assert_accessible(page, f"the error page ({language}, {width} px)")
            page.goto(url + "/")
            page.click("#lock-button")
            page.wait_for_selector("#unlock-form")


def test_the_inbox_screenshots_are_the_ones_the_readme_shows() -> None:
    """The README shows the inbox and a case; the names the main test writes are the ones it links."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for name in ("ru-inbox", "ru-inbox-case"):
        assert f"docs/screenshots/{name}.png" in readme
        assert (REPO / "docs" / "screenshots" / f"{name}.png").is_file()
