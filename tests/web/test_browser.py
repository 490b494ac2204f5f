"""The requester's flow in a real headless Chromium, against the live intake, router and broker.

A Russian-speaking requester fills the desertion-support form on a phone
screen and sends it; a demo partner pulls and opens exactly what was
typed; nothing typed ever left the browser in clear. Then the same without
JavaScript (server-sealed mode), the quick exit, a tampered directory, and
the page-weight budget, all from real served responses.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from pika.adapters.blocking_connection import BlockingChannel
from playwright.sync_api import BrowserContext, Page, Request

from schemas.forms import form_definition
from schemas.routing import CATEGORY_LABELS
from tests.haven.partner.conftest import (
    Network,
    depth,
    fast_router,
    running_router,
    verified_loader,
)
from tests.web.conftest import screenshot_path

pytestmark = pytest.mark.broker

# What the requester types: free text with a canary that must never leave
# the browser in clear, and must come out at the partner exactly as typed.
MESSAGE = "Мобилизовали осенью, сейчас в Казахстане. Канарейка-7f3a: нужна консультация юриста."
HANDLE = "kanareika.7f3a"
CHOICES = {
    "status": "mobilised",
    "situation": "abroad",
    "criminal_case": "unknown",
    "wanted_listing": "yes",
    "contact_channel": "signal",
}
MULTI = {"passports_held": ["internal_passport", "foreign_passport"], "needs": ["legal", "shelter"]}
COUNTRY = {"current_country": "KZ"}
TEXT = {"contact_handle": HANDLE, "message": MESSAGE}
EXPECTED_FIELDS = {**CHOICES, **MULTI, **COUNTRY, **TEXT}
ROUTING = {"region": "ru-volga", "language": "ru", "urgency": "urgent"}
SECRETS = (MESSAGE, HANDLE, "Канарейка-7f3a", "7f3a")


def choose_russian(page: Page) -> None:
    """Press what a person reads, not a URL: no step has a URL of its own."""
    page.locator("main").get_by_text("Русский", exact=True).click()


def choose_desertion(page: Page) -> None:
    page.locator("main").get_by_text(CATEGORY_LABELS["desertion"]["ru"], exact=True).click()


def open_desertion_form(page: Page, intake_url: str) -> None:
    """From the first page, as a person does: the language, then the kind of help."""
    page.goto(intake_url + "/")
    choose_russian(page)
    choose_desertion(page)
    page.wait_for_selector("#haven-form")


class Trail:
    """What the browser's history can tell whoever picks up the phone: URLs, titles, navigations."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.urls: list[str] = []
        self.titles: list[str] = []
        page.on("framenavigated", lambda frame: self.urls.append(frame.url))

    def look(self) -> None:
        """The page now: its URL, its title, and its navigation entries (with their URLs)."""
        self.urls.append(self.page.url)
        self.titles.append(self.page.title())
        self.urls.extend(
            self.page.evaluate("performance.getEntriesByType('navigation').map(e => e.name)")
        )

    def assert_names_no_request(self, intake_url: str) -> None:
        named = [
            "desertion",
            *CATEGORY_LABELS["desertion"].values(),
            *(quote(label) for label in CATEGORY_LABELS["desertion"].values()),
            *SECRETS,
        ]
        for text in self.urls + self.titles:
            for name in named:
                assert name not in text, text
        # One neutral URL for every step of the flow: not even the language.
        ours = {url for url in self.urls if url.startswith(intake_url)}
        assert ours == {intake_url + "/"}, ours


def fill_desertion_form(page: Page) -> None:
    """Fill every field from the form definition's types, as a person would."""
    for field in form_definition("desertion")["fields"]:
        name = field["name"]
        if name in CHOICES:
            choose(page, name, CHOICES[name])
        elif name in MULTI:
            for value in MULTI[name]:
                page.check(f'input[name="{name}"][value="{value}"]')
        elif name in COUNTRY:
            page.select_option(f'select[name="{name}"]', COUNTRY[name])
        elif name in TEXT:
            page.fill(f'[name="{name}"]', TEXT[name])
    page.select_option('select[name="routing.region"]', ROUTING["region"])
    choose(page, "routing.language", ROUTING["language"])
    choose(page, "routing.urgency", ROUTING["urgency"])


def choose(page: Page, name: str, value: str) -> None:
    """A choice is radios or a select (the page decides by the number of choices)."""
    radio = page.locator(f'input[type="radio"][name="{name}"][value="{value}"]')
    if radio.count():
        radio.check()
    else:
        page.select_option(f'select[name="{name}"]', value)


class Wire:
    """Every request the page makes, with its body, for the checks on what left the device."""

    def __init__(self, page: Page) -> None:
        self.requests: list[tuple[str, str, bytes]] = []
        page.on("request", self._record)

    def _record(self, request: Request) -> None:
        body = request.post_data_buffer or b""
        self.requests.append((request.method, request.url, body))

    def assert_no_plaintext(self) -> None:
        for method, url, body in self.requests:
            for secret in SECRETS:
                for form in _encodings(secret):
                    assert form not in body, (method, url)
                    assert form.decode("latin-1") not in url, (method, url)


def _encodings(text: str) -> list[bytes]:
    """The ways a string could travel: raw UTF-8, JSON escapes, form encoding, base64 of it."""
    raw = text.encode()
    return [
        raw,
        json.dumps(text).encode()[1:-1],
        quote_plus(text).encode(),
        base64.b64encode(raw)[:16],
    ]


def assert_no_traces(context: BrowserContext, page: Page) -> None:
    assert context.cookies() == []
    assert page.evaluate("localStorage.length") == 0
    assert page.evaluate("sessionStorage.length") == 0
    assert page.evaluate("async () => (await indexedDB.databases()).length") == 0
    assert (
        page.evaluate(
            "async () => navigator.serviceWorker ? (await navigator.serviceWorker.getRegistrations()).length : 0"
        )
        == 0
    )


def pulled_request(network: Network, channel: BlockingChannel, request_id: str) -> dict[str, Any]:
    """Route the request with a real router and let the chosen partner pull and open it."""
    with running_router(fast_router(network), verified_loader(network)):
        from tests.haven.partner.conftest import wait_until  # noqa: PLC0415

        wait_until(
            lambda: sum(depth(channel, f"haven.partner.{p}") for p in ("alpha", "bravo")) == 1,
            what="routed to a partner",
        )
    holder = next(p for p in ("alpha", "bravo") if depth(channel, f"haven.partner.{p}") == 1)
    result = network.pull(holder)
    assert result.code == 0, result.err
    assert network.inbox_ids(holder) == {request_id}
    shown = network.haven(
        "partner", "show", request_id, *network.member_args(holder, inbox=True), "--json"
    )
    assert shown.code == 0, shown.err
    document: dict[str, Any] = json.loads(shown.out)
    return document


def test_russian_requester_sends_sealed_in_the_browser_and_a_partner_reads_it(
    web_network: Network, channel: BlockingChannel, new_context: Callable[..., BrowserContext]
) -> None:
    context = new_context()
    page = context.new_page()
    wire = Wire(page)
    trail = Trail(page)
    page.goto(web_network.intake_url + "/")
    trail.look()
    page.screenshot(path=screenshot_path("ru-1-language"), full_page=True)
    choose_russian(page)
    trail.look()
    page.screenshot(path=screenshot_path("ru-2-help"), full_page=True)
    choose_desertion(page)
    page.wait_for_selector("#haven-form")
    trail.look()
    fill_desertion_form(page)
    page.screenshot(path=screenshot_path("ru-3-form"), full_page=True)
    page.click('#haven-form [type="submit"]')
    page.wait_for_selector("#haven-review:not([hidden])")
    trail.look()
    assert MESSAGE in page.inner_text("#haven-review")  # the review shows what will be sent
    page.screenshot(path=screenshot_path("ru-4-review"), full_page=True)
    page.click("#haven-send")
    page.wait_for_selector("#haven-sent:not([hidden])", timeout=60_000)
    trail.look()
    page.screenshot(path=screenshot_path("ru-5-sent"), full_page=True)
    request_id = page.inner_text("#haven-sent-id").strip()
    assert re.fullmatch(r"[0-9a-f]{64}", request_id)

    # The form is cleared, nothing is stored, nothing is in the URL.
    assert page.input_value('[name="message"]') == ""
    assert request_id not in page.url
    assert_no_traces(context, page)
    wire.assert_no_plaintext()
    posted = [body for method, url, body in wire.requests if url.endswith("/v1/requests")]
    assert len(posted) == 1
    submission = json.loads(posted[0])
    assert set(submission) == {"routing", "envelope", "pow"}
    assert submission["routing"] == {"category": "desertion", **ROUTING}

    document = pulled_request(web_network, channel, request_id)
    assert document["content"] == {"v": 1, "category": "desertion", "fields": EXPECTED_FIELDS}
    assert document["routing"] == {"category": "desertion", **ROUTING}
    assert document["server_sealed"] is False

    # Then the quick exit, and whoever holds the phone goes back through its history.
    leave_and_walk_back(page, trail)
    trail.assert_names_no_request(web_network.intake_url)


def leave_and_walk_back(page: Page, trail: Trail) -> None:
    """Press the quick exit, then Back through every entry of the tab's history, looking at each."""
    page.click("#quick-exit")
    page.wait_for_url("https://yandex.ru/**")
    trail.look()
    length = page.evaluate("history.length")
    assert isinstance(length, int) and length >= 2
    for _ in range(length - 1):
        page.go_back()
        trail.look()
        # Back shows the neutral first page, never a form or a request.
        assert page.locator("#haven-form").count() == 0
        assert MESSAGE not in page.content()


def test_without_javascript_the_intake_seals_and_says_so(
    make_network: Callable[..., Network],
    channel: BlockingChannel,
    new_context: Callable[..., BrowserContext],
) -> None:
    network = make_network(intake_env={"HAVEN_NOJS_TICKET_MIN_AGE": "1"})
    context = new_context(javascript=False)
    page = context.new_page()
    trail = Trail(page)
    open_desertion_form(page, network.intake_url)
    trail.look()
    fill_desertion_form(page)
    page.wait_for_timeout(1100)  # the ticket's minimum age: a person takes longer
    page.click('#haven-form [type="submit"]')
    trail.look()
    assert MESSAGE in page.content()  # the review, rendered by the intake
    page.screenshot(path=screenshot_path("ru-nojs-4-review"), full_page=True)
    page.click('button[name="step"][value="send"], [type="submit"]')
    trail.look()
    found = re.search(r"[0-9a-f]{64}", page.inner_text("body"))
    assert found, page.inner_text("body")
    page.screenshot(path=screenshot_path("ru-nojs-5-sent"), full_page=True)
    request_id = found.group(0)
    assert request_id not in page.url
    assert context.cookies() == []

    document = pulled_request(network, channel, request_id)
    assert document["content"]["fields"] == EXPECTED_FIELDS
    assert document["server_sealed"] is True

    leave_and_walk_back(page, trail)
    trail.assert_names_no_request(network.intake_url)


def test_quick_exit_leaves_no_history_entry_for_the_form(
    web_network: Network, new_context: Callable[..., BrowserContext]
) -> None:
    page = new_context().new_page()
    open_desertion_form(page, web_network.intake_url)
    page.fill('[name="message"]', MESSAGE)
    page.click("#quick-exit")
    page.wait_for_url("https://yandex.ru/**")
    # The form's entry was replaced, and the one before it made a plain GET
    # of "/": Back shows the first page, neither the form nor the help chosen.
    page.go_back()
    assert page.url == web_network.intake_url + "/"
    assert page.locator('button[name="lang"]').count() == 3
    assert MESSAGE not in page.content()


def test_a_tampered_directory_makes_the_page_refuse_to_send(
    web_network: Network, new_context: Callable[..., BrowserContext]
) -> None:
    page = new_context().new_page()
    wire = Wire(page)

    def tamper(route: Any) -> None:
        original = route.fetch()
        document = json.loads(original.body())
        payload = bytearray(base64.b64decode(document["payload"]))
        payload[len(payload) // 2] ^= 0x01  # one byte: the signature no longer verifies
        document["payload"] = base64.b64encode(bytes(payload)).decode()
        route.fulfill(response=original, body=json.dumps(document))

    page.route("**/v1/directory", tamper)
    open_desertion_form(page, web_network.intake_url)
    fill_desertion_form(page)
    page.click('#haven-form [type="submit"]')
    page.wait_for_selector("#haven-review:not([hidden])")
    page.click("#haven-send")
    page.wait_for_selector("#haven-error:not([hidden])", timeout=30_000)
    assert page.inner_text("#haven-error").strip()
    page.screenshot(path=screenshot_path("ru-tampered-directory"), full_page=True)
    assert not any(url.endswith("/v1/requests") for _, url, _ in wire.requests)
    assert not any(url.endswith("/v1/challenge") for _, url, _ in wire.requests)


BUDGET = 150 * 1024


@pytest.mark.parametrize("path", ["/", "the form"])
def test_first_visit_fits_the_page_weight_budget(
    web_network: Network,
    new_context: Callable[..., BrowserContext],
    path: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every response the browser loads for the page, as served, gzip-compressed, within 150 KB."""
    page = new_context().new_page()
    bodies: dict[str, bytes] = {}
    if path == "/":
        page.on("response", lambda response: bodies.__setitem__(response.url, response.body()))
        page.goto(web_network.intake_url + path, wait_until="networkidle")
    else:
        # The form page is a POST to "/" from the help page: count what that loads.
        page.goto(web_network.intake_url + "/")
        choose_russian(page)
        page.on("response", lambda response: bodies.__setitem__(response.url, response.body()))
        choose_desertion(page)
        page.wait_for_load_state("networkidle")
    assert bodies, "nothing loaded"
    assert all(url.startswith(web_network.intake_url) for url in bodies)  # no third party
    compressed = sum(len(gzip.compress(body, 6)) for body in bodies.values())
    # The counts belong in the test run's output, also when it passes.
    with capsys.disabled():
        print(f"\n{path}: {len(bodies)} responses, {compressed} bytes gzip, budget {BUDGET}")
    assert compressed <= BUDGET
    if path == "/":
        # The crypto bundle loads on the form page only.
        assert not any("haven-form" in url for url in bodies)


@pytest.mark.parametrize("javascript", [True, False])
def test_the_form_fits_320_px_and_works_by_keyboard_alone(
    web_network: Network, new_context: Callable[..., BrowserContext], javascript: bool
) -> None:
    page = new_context(javascript=javascript, width=320).new_page()
    page.goto(web_network.intake_url + "/")
    for step in ("language", "help", "form"):
        # Nothing wider than the narrowest phone: no sideways scrolling.
        assert page.evaluate("document.documentElement.scrollWidth") <= 320, step
        if step == "language":
            choose_russian(page)
        elif step == "help":
            choose_desertion(page)
        page.wait_for_load_state()
    # From the top of the page, Tab alone reaches the send button...
    page.keyboard.press("Tab")
    for _ in range(400):
        if page.evaluate("document.activeElement.matches('#haven-form [type=submit]')"):
            break
        page.keyboard.press("Tab")
    else:
        pytest.fail("the form's button cannot be reached with Tab")
    # ...and Enter on an empty form shows errors tied to their fields.
    page.keyboard.press("Enter")
    page.wait_for_selector('[aria-invalid="true"]')
    invalid = page.locator('[aria-invalid="true"]').first
    described = invalid.get_attribute("aria-describedby") or ""
    messages = [
        page.inner_text(f"#{ident}") for ident in described.split() if ident.startswith("error-")
    ]
    assert any(text.strip() for text in messages), described
    if javascript:
        # The script moves focus to the first field in error.
        assert page.evaluate("document.activeElement.getAttribute('aria-invalid')") == "true"
