"""axe-core on every requester page, in Russian, Ukrainian and English, with and without JavaScript.

Each screen a requester can reach is checked as it is shown, in a real
Chromium against the live intake: the first page, an error page, the help
page, the form (empty, and with its errors), the review (and, with
JavaScript, while sending and after a failed send), the sent page with
its code phrase, and the answers page (the code, a wrong code, the thread,
a follow-up sent, the delete question, the conversation deleted). A
serious or critical violation on any of them fails the test
(tests/web/axe.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, Route

from haven.envelope import PrivateKey
from haven.replies import (
    PartnerMessage,
    SigningKey,
    access_hash,
    derive,
    format_code,
    generate,
    write_message,
)
from haven.store import Mailboxes, Store, StoreSettings
from tests.haven.partner.conftest import Network
from tests.web.axe import assert_accessible
from tests.web.test_browser import choose, fill_desertion_form

pytestmark = pytest.mark.broker

LANGUAGES = ("ru", "uk", "en")
JS = pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
# No wait for the no-JS ticket's minimum age: these tests are about the
# pages, not about the pace a person keeps.
INTAKE_ENV = {"HAVEN_NOJS_TICKET_MIN_AGE": "0"}


def new_page(new_context: Callable[..., BrowserContext], *, javascript: bool) -> Page:
    """A phone's page; without JavaScript, one whose scripts are refused at the network.

    axe runs on the page's own JavaScript engine, and a context with
    JavaScript off runs nothing there (not even a promise's callback). So
    "without JavaScript" here is a page none of whose scripts ever arrive:
    no script of Haven's runs, and the intake serves the same pages it
    serves with JavaScript off (it cannot tell the two apart).
    """
    page = new_context().new_page()
    if not javascript:
        page.route("**/*.js", lambda route: route.abort())
    return page


def start(page: Page, intake_url: str, lang: str) -> None:
    page.goto(intake_url + "/")
    page.click(f'button[name="lang"][value="{lang}"]')
    page.wait_for_selector('button[name="category"]')


@JS
def test_the_first_page_and_the_error_page(
    make_network: Callable[..., Network],
    new_context: Callable[..., BrowserContext],
    javascript: bool,
) -> None:
    network = make_network(intake_env=INTAKE_ENV)
    page = new_page(new_context, javascript=javascript)
    page.goto(network.intake_url + "/")
    assert_accessible(page, "the language page")
    for lang in LANGUAGES:
        # An address that is not Haven's: the error page, in the language the path names.
        page.goto(f"{network.intake_url}/{lang}/no-such-page")
        assert page.locator("html").get_attribute("lang") == lang
        assert_accessible(page, f"the error page ({lang})")


@pytest.mark.parametrize("lang", LANGUAGES)
@JS
def test_every_step_of_the_form(
    make_network: Callable[..., Network],
    new_context: Callable[..., BrowserContext],
    lang: str,
    javascript: bool,
) -> None:
    network = make_network(intake_env=INTAKE_ENV)
    page = new_page(new_context, javascript=javascript)
    start(page, network.intake_url, lang)
    assert_accessible(page, "the help page")
    page.click('button[name="category"][value="desertion"]')
    page.wait_for_selector("#haven-form")
    assert_accessible(page, "the form")

    # Sent empty: every required question shows its error.
    page.click('#haven-form [type="submit"]')
    page.wait_for_selector('[aria-invalid="true"]')
    assert_accessible(page, "the form with its errors")

    fill_desertion_form(page)
    choose(page, "contact_channel", "haven_reply")
    page.fill('[name="contact_handle"]', "")
    page.click('#haven-form [type="submit"]')
    if javascript:
        page.wait_for_selector("#haven-review:not([hidden])")
    else:
        page.wait_for_selector("dl.review")
    assert_accessible(page, "the review")

    if javascript:
        # Held while the page sends: its progress; then refused: its error.
        held: list[Route] = []
        page.route("**/v1/challenge", lambda route: held.append(route))  # noqa: PLW0108
        with page.expect_request("**/v1/challenge"):
            page.click("#haven-send")
        page.wait_for_selector("#haven-progress:not([hidden])")
        assert_accessible(page, "the review while sending")
        held[0].abort()
        page.wait_for_selector("#haven-error:not([hidden])", timeout=30_000)
        assert_accessible(page, "the review with a sending error")
        page.unroute("**/v1/challenge")
        page.click("#haven-send")
        page.wait_for_selector("#haven-receipt:not([hidden])", timeout=90_000)
    else:
        page.click('button[name="step"][value="send"]')
        page.wait_for_selector("#haven-receipt")
    assert page.inner_text("#haven-receipt-code").strip()
    assert_accessible(page, "the sent page with its code phrase")


def mailbox_with_answers(
    network: Network, partner_key: PrivateKey, lang: str
) -> tuple[str, Callable[[], None]]:
    """A code phrase whose mailbox holds a status and an answer from alpha; and a closer."""
    code = generate(lang)
    keys = derive(code)
    store = Store(StoreSettings(url=network.env["HAVEN_STORE_URL"]))
    mailboxes = Mailboxes(store, retention_seconds=3600)
    for kind, state, text, at in (
        ("status", "in_progress", "", "2026-11-30T08:00:00Z"),
        ("reply", None, "Здравствуйте! Напишите, в каком вы городе.", "2026-11-30T08:05:00Z"),
    ):
        wire = write_message(
            PartnerMessage(
                kind=kind,
                partner="alpha",
                mailbox_id=keys.mailbox_id,
                request="ab" * 32,
                state=state,
                text=text,
                sent_at=at,
            ),
            keys.reply_key.public_key,
            SigningKey.from_partner_key(partner_key),
        )
        mailboxes.write(
            keys.mailbox_id,
            access_hash(keys.access_secret),
            wire.message_id,
            json.dumps(wire.to_json()).encode(),
        )
    return format_code(code), store.close


@pytest.mark.parametrize("lang", LANGUAGES)
@JS
def test_every_step_of_the_answers_page(
    make_network: Callable[..., Network],
    new_context: Callable[..., BrowserContext],
    partner_private_keys: dict[str, PrivateKey],
    lang: str,
    javascript: bool,
) -> None:
    network = make_network(intake_env=INTAKE_ENV)
    code, close = mailbox_with_answers(network, partner_private_keys["alpha"], lang)
    try:
        page = new_page(new_context, javascript=javascript)
        start(page, network.intake_url, lang)
        page.click('button[name="step"][value="status"]')
        page.wait_for_selector("#field-code")
        assert_accessible(page, "the answers page")

        # A code phrase too short: the page says what is wrong.
        page.fill("#field-code", " ".join(code.split()[:4]))
        page.click('#haven-status-form [type="submit"]')
        page.wait_for_selector("#haven-error:not([hidden])", timeout=60_000)
        assert_accessible(page, "the answers page with an error")

        page.fill("#field-code", code)
        page.click('#haven-status-form [type="submit"]')
        if javascript:
            page.wait_for_selector("#haven-thread:not([hidden])", timeout=90_000)
        else:
            page.wait_for_selector("ol.thread")
        assert page.locator(".thread .message").count() == 2
        assert_accessible(page, "the thread")

        page.fill("#field-text", "Я в Алматы.")
        if javascript:
            page.click('#haven-follow-up [type="submit"]')
            page.wait_for_selector("#haven-follow-up-sent:not([hidden])", timeout=90_000)
            assert_accessible(page, "the thread with a follow-up sent")
            page.click("#haven-delete")
            page.wait_for_selector("#haven-delete-confirm:not([hidden])")
            assert_accessible(page, "the delete question")
            page.click("#haven-delete-yes")
            page.wait_for_selector("#haven-deleted:not([hidden])", timeout=90_000)
        else:
            page.click('button[name="step"][value="status_follow_up"]')
            page.wait_for_selector('button[name="step"][value="status_read"]')
            assert_accessible(page, "the follow-up sent page")
            page.click('button[name="step"][value="status_read"]')
            page.wait_for_selector("ol.thread")
            page.click('button[name="step"][value="status_delete"]')
            page.wait_for_selector('button[name="step"][value="status_delete_confirmed"]')
            assert_accessible(page, "the delete question")
            page.click('button[name="step"][value="status_delete_confirmed"]')
            page.wait_for_selector("h1")
        assert_accessible(page, "the conversation deleted")
    finally:
        close()
