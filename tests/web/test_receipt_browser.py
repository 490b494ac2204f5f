"""A reply through Haven in a real headless Chromium: the receipt code, with and without JavaScript.

With JavaScript the phone makes the code (in the receipt worker, Argon2id
in WebAssembly), seals only what the code derives, and shows the code once;
without JavaScript the intake makes it at send time and says so. Either
way the code parses, what it derives is exactly what the partner finds in
the sealed request, and nothing of it is left in the browser or sent.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from pika.adapters.blocking_connection import BlockingChannel
from playwright.sync_api import BrowserContext, Page

from haven.broker.topology import INTAKE_QUEUE
from haven.envelope import open_envelope
from haven.replies import ReceiptCode, access_hash, derive, parse
from tests.haven.partner.conftest import Network
from tests.web.conftest import screenshot_path
from tests.web.test_browser import (
    Wire,
    _encodings,
    assert_no_traces,
    choose,
    fill_desertion_form,
    open_desertion_form,
)

pytestmark = pytest.mark.broker


def choose_reply_through_haven(page: Page) -> None:
    """The form as a person fills it, then the recommended contact: no handle at all."""
    fill_desertion_form(page)
    # It is the first choice offered.
    first = page.locator('input[name="contact_channel"]').first
    assert first.get_attribute("value") == "haven_reply"
    choose(page, "contact_channel", "haven_reply")
    page.fill('[name="contact_handle"]', "")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def assert_sealed_for(network: Network, envelope: bytes, code: ReceiptCode) -> None:
    """Every partner key that opens the request finds the code's derived public values."""
    keys = derive(code)
    opened = 0
    for key in network.keys.values():
        try:
            document: dict[str, Any] = json.loads(open_envelope(envelope, [key]).content)
        except Exception:  # noqa: BLE001, S112 - a partner not chosen for this request
            continue
        opened += 1
        assert document["fields"]["contact_channel"] == "haven_reply"
        assert "contact_handle" not in document["fields"]
        assert document["reply_key"] == b64(keys.reply_key.public_key.to_bytes())
        assert document["mailbox_id"] == b64(keys.mailbox_id)
        assert document["access_hash"] == b64(access_hash(keys.access_secret))
    assert opened >= 1


def shown_code(page: Page) -> ReceiptCode:
    page.wait_for_selector("#haven-receipt:not([hidden])")
    return parse(page.inner_text("#haven-receipt-code"))


def test_the_phone_makes_the_code_shows_it_once_and_keeps_nothing(
    web_network: Network, new_context: Callable[..., BrowserContext]
) -> None:
    context = new_context()
    page = context.new_page()
    wire = Wire(page)
    open_desertion_form(page, web_network.intake_url)
    choose_reply_through_haven(page)
    page.click('#haven-form [type="submit"]')
    page.wait_for_selector("#haven-review:not([hidden])")
    page.click("#haven-send")
    page.wait_for_selector("#haven-sent:not([hidden])", timeout=90_000)
    code = shown_code(page)
    assert code.language == "ru"  # the page's language
    page.screenshot(path=screenshot_path("ru-reply-sent-code"), full_page=True)

    posted = [body for _, url, body in wire.requests if url.endswith("/v1/requests")]
    assert len(posted) == 1
    assert_sealed_for(web_network, base64.b64decode(json.loads(posted[0])["envelope"]), code)
    # The code itself went nowhere: no request carries a word of it.
    words = " ".join(code.words)
    for method, url, body in wire.requests:
        for form in _encodings(words):
            assert form not in body, (method, url)
        assert code.words[0] not in url
    assert_no_traces(context, page)
    assert words not in page.url


def test_without_javascript_the_intake_makes_the_code_and_says_so(
    make_network: Callable[..., Network],
    channel: BlockingChannel,
    new_context: Callable[..., BrowserContext],
) -> None:
    network = make_network(intake_env={"HAVEN_NOJS_TICKET_MIN_AGE": "1"})
    context = new_context(javascript=False)
    page = context.new_page()
    open_desertion_form(page, network.intake_url)
    choose_reply_through_haven(page)
    page.wait_for_timeout(1100)  # the ticket's minimum age: a person takes longer
    page.click('#haven-form [type="submit"]')
    page.click('button[name="step"][value="send"]')
    code = shown_code(page)
    assert code.language == "ru"
    assert "кодовую фразу тоже создал наш сервер" in page.inner_text("main")
    page.screenshot(path=screenshot_path("ru-nojs-reply-sent-code"), full_page=True)
    method, _, envelope = channel.basic_get(INTAKE_QUEUE, auto_ack=True)
    assert method is not None
    assert_sealed_for(network, envelope, code)
    assert context.cookies() == []
    assert " ".join(code.words) not in page.url
