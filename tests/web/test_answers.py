"""The two-way channel end to end, in a real Chromium on a phone screen, in Russian.

A requester sends a desertion request choosing "Reply through Haven" and is
shown a code phrase; the router gives the request to a partner, whose pull
posts the automatic "received" status; the partner answers with
`haven partner reply`; the requester opens the answers page, types the
code, and reads the answer exactly; then sends a follow-up, which reaches
that partner's inbox and no other. Once with JavaScript (the code never
leaves the browser), once without (the intake derives in memory and says
so). Real intake, store, broker, router and partner CLI throughout.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote_plus

import pytest
from pika.adapters.blocking_connection import BlockingChannel
from playwright.sync_api import BrowserContext, Page, Response, Route
from playwright.sync_api import Error as PlaywrightError

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
from tests.haven.partner.conftest import (
    Network,
    depth,
    fast_router,
    running_router,
    verified_loader,
    wait_until,
)
from tests.web.conftest import screenshot_path
from tests.web.test_browser import (
    BUDGET,
    Trail,
    Wire,
    assert_no_traces,
    choose,
    choose_desertion,
    choose_russian,
    fill_desertion_form,
)

pytestmark = pytest.mark.broker

PARTNERS = ("alpha", "bravo")
# What the partner writes back, and what the requester answers: each must
# arrive exactly as typed, line breaks included.
REPLY = (
    "Здравствуйте! Мы получили вашу заявку.\nНапишите, пожалуйста, в каком вы городе. Метка-5e81."
)
FOLLOW_UP = "Я в Алматы, паспорт при мне.\nМетка-ответ-a4c2."


def send_request_with_reply(page: Page, intake_url: str, *, javascript: bool) -> str:
    """Step 1: the desertion form with "Reply through Haven"; returns the code phrase shown."""
    page.goto(intake_url + "/")
    choose_russian(page)
    choose_desertion(page)
    page.wait_for_selector("#haven-form")
    fill_desertion_form(page)
    choose(page, "contact_channel", "haven_reply")
    page.fill('[name="contact_handle"]', "")
    if javascript:
        page.click('#haven-form [type="submit"]')
        page.wait_for_selector("#haven-review:not([hidden])")
        page.click("#haven-send")
        page.wait_for_selector("#haven-receipt:not([hidden])", timeout=90_000)
    else:
        page.wait_for_timeout(1100)  # the ticket's minimum age
        page.click('#haven-form [type="submit"]')
        page.click('button[name="step"][value="send"]')
        page.wait_for_selector("#haven-receipt")
    code = page.inner_text("#haven-receipt-code").strip()
    assert len(code.split()) == 9, code
    return code


def route_and_pull(network: Network, channel: BlockingChannel) -> str:
    """Step 2: the router gives the request to a partner, whose pull posts "received"."""
    with running_router(fast_router(network), verified_loader(network)):
        wait_until(
            lambda: sum(depth(channel, f"haven.partner.{p}") for p in PARTNERS) == 1,
            what="routed to a partner",
        )
    holder = next(p for p in PARTNERS if depth(channel, f"haven.partner.{p}") == 1)
    pulled = network.pull(holder, "--intake-url", network.intake_url)
    assert pulled.code == 0, pulled.err
    return holder


def partner_reply(network: Network, holder: str, request_id: str) -> None:
    """Step 3: the partner answers with the CLI, through the intake, to the requester's mailbox."""
    text_file = network.root / "reply.txt"
    text_file.write_text(REPLY, encoding="utf-8")
    replied = network.haven(
        "partner",
        "reply",
        request_id,
        "--text-file",
        text_file,
        "--inbox",
        network.inbox(holder),
        "--partner",
        holder,
        *network.member_args(holder),
        "--intake-url",
        network.intake_url,
    )
    assert replied.code == 0, replied.err


def open_answers(page: Page, intake_url: str, code: str, *, javascript: bool, shot: str) -> None:
    """Step 4: from the first page, as a person comes back: language, "Read answers", the code."""
    page.goto(intake_url + "/")
    choose_russian(page)
    page.click('button[name="step"][value="status"]')
    page.wait_for_selector("#field-code")
    # Typed as a person might copy it off paper: numbered, with capitals.
    typed = "\n".join(f"{i}. {word.capitalize()}" for i, word in enumerate(code.split(), 1))
    page.fill("#field-code", typed)
    page.screenshot(path=screenshot_path(f"{shot}-4-code"), full_page=True)
    if not javascript:
        page.wait_for_timeout(1100)  # the ticket's minimum age
    page.click('#haven-status-form [type="submit"]')
    if javascript:
        page.wait_for_selector("#haven-thread:not([hidden])", timeout=90_000)
    else:
        page.wait_for_selector("ol.thread")


def read_thread(page: Page) -> str:
    text: str = page.inner_text("main")
    # The answer, exactly as the partner typed it.
    assert REPLY in page.evaluate(
        "Array.from(document.querySelectorAll('.message .text')).map(e => e.textContent)"
    )
    assert "Организация получила вашу заявку." in text  # the automatic "received"
    assert "Статус:" in text
    return text


def send_follow_up(page: Page, *, javascript: bool, shot: str) -> None:
    """Step 5: a follow-up to the partner who answered."""
    page.fill("#field-text", FOLLOW_UP)
    if javascript:
        page.click('#haven-follow-up [type="submit"]')
        page.wait_for_selector("#haven-follow-up-sent:not([hidden])", timeout=90_000)
    else:
        page.wait_for_timeout(1100)
        page.click('button[name="step"][value="status_follow_up"]')
        page.wait_for_selector("text=Ваше сообщение отправлено")
    page.screenshot(path=screenshot_path(f"{shot}-6-follow-up-sent"), full_page=True)


def follow_up_reaches_the_holder_only(
    network: Network, channel: BlockingChannel, holder: str
) -> None:
    other = next(p for p in PARTNERS if p != holder)
    before = {p: network.inbox_ids(p) for p in PARTNERS}
    with running_router(fast_router(network), verified_loader(network)):
        wait_until(lambda: depth(channel, f"haven.partner.{holder}") == 1, what="follow-up routed")
    assert depth(channel, f"haven.partner.{other}") == 0
    pulled = network.pull(holder, "--intake-url", network.intake_url)
    assert pulled.code == 0, pulled.err
    new = network.inbox_ids(holder) - before[holder]
    assert len(new) == 1, new
    shown = network.haven(
        "partner", "show", new.pop(), *network.member_args(holder, inbox=True), "--json"
    )
    assert shown.code == 0, shown.err
    assert FOLLOW_UP in json.dumps(json.loads(shown.out), ensure_ascii=False).replace("\\n", "\n")
    # The other partner got nothing of it.
    assert network.pull(other, "--intake-url", network.intake_url).code == 0
    assert network.inbox_ids(other) == before[other]


def request_id_of(network: Network, holder: str) -> str:
    (request_id,) = network.inbox_ids(holder)
    return request_id


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_a_requester_reads_the_partners_answer_and_writes_back(
    make_network: Callable[..., Network],
    channel: BlockingChannel,
    new_context: Callable[..., BrowserContext],
    javascript: bool,
) -> None:
    network = make_network(intake_env={"HAVEN_NOJS_TICKET_MIN_AGE": "1"})
    shot = "ru-answers" if javascript else "ru-nojs-answers"
    context = new_context(javascript=javascript)
    page = context.new_page()
    wire = Wire(page)
    trail = Trail(page)

    code = send_request_with_reply(page, network.intake_url, javascript=javascript)
    trail.look()
    page.screenshot(path=screenshot_path(f"{shot}-1-code"), full_page=True)

    holder = route_and_pull(network, channel)
    request_id = request_id_of(network, holder)
    partner_reply(network, holder, request_id)

    open_answers(page, network.intake_url, code, javascript=javascript, shot=shot)
    trail.look()
    text = read_thread(page)
    page.screenshot(path=screenshot_path(f"{shot}-5-thread"), full_page=True)
    # Without JavaScript, and only then, the page says the server used the code.
    said = "наш сервер на мгновение использовал вашу кодовую фразу" in text
    assert said is not javascript

    send_follow_up(page, javascript=javascript, shot=shot)
    trail.look()
    follow_up_reaches_the_holder_only(network, channel, holder)

    # Nothing typed or derived is kept, and one neutral URL throughout.
    assert context.cookies() == []
    if javascript:
        assert_no_traces(context, page)
        # The code never left the browser: not in any request, URL or body.
        for _, url, body in wire.requests:
            for word in code.split():
                assert word.encode() not in body, url
                assert quote_plus(word).encode() not in body, url
                assert word.capitalize().encode() not in body, url
    for url in trail.urls:
        for word in code.split():
            assert word not in url
    assert {u for u in trail.urls if u.startswith(network.intake_url)} == {network.intake_url + "/"}
    for title in trail.titles:
        assert title == "Haven"


def test_the_answers_page_screenshots_dir_is_the_documented_one() -> None:
    """The README shows these steps; the names here are the ones it links."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    for name in (
        "ru-answers-1-code",
        "ru-answers-4-code",
        "ru-answers-5-thread",
        "ru-answers-6-follow-up-sent",
    ):
        assert f"docs/screenshots/{name}.png" in readme


def test_with_javascript_a_wrong_code_is_told_by_position_and_a_conversation_deleted(
    make_network: Callable[..., Network],
    new_context: Callable[..., BrowserContext],
    partner_private_keys: dict[str, PrivateKey],
) -> None:
    network = make_network()
    code = generate("ru")
    keys = derive(code)
    store = Store(StoreSettings(url=network.env["HAVEN_STORE_URL"]))
    try:
        mailboxes = Mailboxes(store, retention_seconds=3600)
        message = PartnerMessage(
            kind="status",
            partner="alpha",
            mailbox_id=keys.mailbox_id,
            request="ab" * 32,
            state="in_progress",
            text="",
            sent_at="2026-11-30T08:00:00Z",
        )
        wire = write_message(
            message,
            keys.reply_key.public_key,
            SigningKey.from_partner_key(partner_private_keys["alpha"]),
        )
        mailboxes.write(
            keys.mailbox_id,
            access_hash(keys.access_secret),
            wire.message_id,
            json.dumps(wire.to_json()).encode(),
        )
        # A reply signed by a key the directory does not list, written
        # straight into the store (the intake itself would refuse it): the
        # page counts it and shows nothing of it.
        forged = write_message(
            PartnerMessage(
                kind="reply",
                partner="alpha",
                mailbox_id=keys.mailbox_id,
                request="ab" * 32,
                state=None,
                text="Поддельный ответ: приходите по адресу",
                sent_at="2026-11-30T08:05:00Z",
            ),
            keys.reply_key.public_key,
            SigningKey.from_partner_key(PrivateKey.generate()),
        )
        mailboxes.write(
            keys.mailbox_id, None, forged.message_id, json.dumps(forged.to_json()).encode()
        )
        page = new_context().new_page()
        page.goto(network.intake_url + "/")
        choose_russian(page)
        page.click('button[name="step"][value="status"]')
        words = format_code(code).split()
        typo = words[4][:-1]  # a letter dropped: an unknown word, at its position
        page.fill("#field-code", " ".join([*words[:4], typo, *words[5:]]))
        page.click('#haven-status-form [type="submit"]')
        page.wait_for_selector("#haven-error:not([hidden])", timeout=60_000)
        error = page.inner_text("#haven-error")
        assert "Слово № 5 кодовой фразы не найдено в списке слов." in error
        assert not any(word in error for word in [typo, *words])
        page.fill("#field-code", format_code(code))
        page.click('#haven-status-form [type="submit"]')
        page.wait_for_selector("#haven-thread:not([hidden])", timeout=90_000)
        assert "Вашей заявкой занимаются." in page.inner_text("#haven-state")
        assert "Одно сообщение не удалось проверить" in page.inner_text("#haven-unverified")
        assert "Поддельный" not in page.content()
        assert page.locator("#haven-messages li").count() == 1
        assert page.is_hidden("#haven-entry")
        assert page.input_value("#field-code") == ""
        page.click("#haven-delete")
        page.wait_for_selector("#haven-delete-confirm:not([hidden])")
        # Asking deletes nothing.
        assert len(mailboxes.fetch(keys.mailbox_id, access_hash(keys.access_secret))) == 2
        page.click("#haven-delete-yes")
        page.wait_for_selector("#haven-deleted:not([hidden])", timeout=90_000)
        page.screenshot(path=screenshot_path("ru-answers-7-deleted"), full_page=True)
        assert mailboxes.fetch(keys.mailbox_id, access_hash(keys.access_secret)) == []
        assert page.locator("#haven-messages li").count() == 0
    finally:
        store.close()


def body_of(page: Page, response: Response) -> bytes:
    """A response's body; a worker's script, once the worker is gone, fetched again (a GET)."""
    try:
        return response.body()
    except PlaywrightError:
        assert response.request.method == "GET", response.url
        return page.request.get(response.url).body()


def test_opening_a_thread_fits_the_page_weight_budget(
    web_network: Network,
    new_context: Callable[..., BrowserContext],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Everything the answers page loads, through opening a thread, gzip-compressed, within 150 KB."""
    page = new_context().new_page()
    page.goto(web_network.intake_url + "/")
    choose_russian(page)
    responses: list[Response] = []
    # A lambda, not the bound method: Playwright wraps only Python functions.
    page.on("response", lambda response: responses.append(response))  # noqa: PLW0108
    page.click('button[name="step"][value="status"]')
    page.fill("#field-code", format_code(generate("ru")))
    page.click('#haven-status-form [type="submit"]')
    page.wait_for_selector("#haven-thread:not([hidden])", timeout=90_000)
    bodies = {response.url: body_of(page, response) for response in responses}
    assert all(url.startswith(web_network.intake_url) for url in bodies)  # no third party
    assert any(url.endswith("/static/haven-receipt-worker.js") for url in bodies)
    compressed = sum(len(gzip.compress(body, 6)) for body in bodies.values())
    with capsys.disabled():
        print(f"\nanswers page: {len(bodies)} responses, {compressed} bytes gzip, budget {BUDGET}")
    assert compressed <= BUDGET
    # The form's bundle is not loaded here.
    assert not any("haven-form" in url for url in bodies)


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_the_answers_page_fits_320_px_and_opens_by_keyboard_alone(
    web_network: Network, new_context: Callable[..., BrowserContext], javascript: bool
) -> None:
    page = new_context(javascript=javascript, width=320).new_page()
    page.goto(web_network.intake_url + "/")
    choose_russian(page)
    page.click('button[name="step"][value="status"]')
    page.wait_for_selector("#field-code")
    # Nothing wider than the narrowest phone: no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    # The code field is labelled, and Tab alone reaches it and then the button.
    assert page.inner_text('label[for="field-code"]').strip() == "Кодовая фраза"
    page.keyboard.press("Tab")
    for _ in range(50):
        if page.evaluate("document.activeElement.id") == "field-code":
            break
        page.keyboard.press("Tab")
    else:
        pytest.fail("the code field cannot be reached with Tab")
    page.keyboard.type(format_code(generate("ru")))
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.matches('#haven-status-form [type=submit]')")
    if not javascript:
        page.wait_for_timeout(5100)  # the ticket's default minimum age
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Сообщений нет.", timeout=90_000)
    assert page.evaluate("document.documentElement.scrollWidth") <= 320


def test_a_code_typed_before_the_script_arrives_is_held_not_posted(
    web_network: Network, new_context: Callable[..., BrowserContext]
) -> None:
    """On a slow link the page is usable before its deferred bundle arrives: Open waits for it.

    Posted then, the code would reach the server although JavaScript is on
    and the page says the code never leaves the phone.
    """
    page = new_context().new_page()
    held: list[Route] = []
    page.route("**/static/haven-status.js", lambda route: held.append(route))  # noqa: PLW0108
    bodies: list[str] = []
    page.on("request", lambda request: bodies.append(request.post_data or ""))
    page.goto(web_network.intake_url + "/")
    choose_russian(page)
    page.click('button[name="step"][value="status"]')
    page.wait_for_selector("#field-code")
    page.fill("#field-code", format_code(generate("ru")))
    page.click('#haven-status-form [type="submit"]')
    page.wait_for_timeout(1500)
    assert not any("code=" in body for body in bodies)
    assert len(held) == 1  # the bundle is still on its way
    held[0].continue_()
    # Once it has come, the held press opens the thread on the phone.
    page.wait_for_selector("#haven-thread:not([hidden])", timeout=90_000)
    assert "Сообщений нет." in page.inner_text("#haven-thread")
    assert not any("code=" in body for body in bodies)
