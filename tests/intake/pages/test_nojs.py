"""Without JavaScript: review, field errors, the ticket, the bucket, server sealing; no plaintext anywhere."""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Callable, Iterable
from html import unescape
from typing import Any

import pytest
from flask.testing import FlaskClient
from pika.adapters.blocking_connection import BlockingChannel
from sqlalchemy import delete
from werkzeug.test import TestResponse

from haven.broker import BrokerUnavailable, ConfirmedPublisher, SettingsError
from haven.envelope import PrivateKey, digest, open_envelope
from haven.replies import access_hash, derive, parse
from haven.store import Store, StoreSettings, UsedTickets
from haven.store.schema import acceptances
from intake import IntakeSettings, create_app
from intake.guards.nojs import TicketRejected, Tickets, TokenBucket
from intake.pages.catalog import read_catalog
from schemas.routing import CATEGORY_LABELS
from tests.intake.conftest import (
    FakeClock,
    NetworkFiles,
    drain,
    ops_of,
    post_submission,
    sealed,
    submission,
)

pytestmark = pytest.mark.broker

CANARY = "CANARY-5b2c"
MESSAGE = f"Мобилизовали осенью.\nСейчас в Казахстане, {CANARY}: нужна консультация юриста."
FIELDS: dict[str, list[str]] = {
    "status": ["mobilised"],
    "situation": ["abroad"],
    "criminal_case": ["unknown"],
    "wanted_listing": ["yes"],
    "passports_held": ["internal_passport", "foreign_passport"],
    "current_country": ["KZ"],
    "needs": ["legal", "shelter"],
    "contact_channel": ["signal"],
    "contact_handle": [f"{CANARY}.handle"],
    # A browser posts a textarea's line breaks as CR LF.
    "message": [MESSAGE.replace("\n", "\r\n")],
}
ROUTING = {
    "routing.region": ["ru-central"],
    "routing.language": ["ru"],
    "routing.urgency": ["urgent"],
}
EXPECTED = {
    "status": "mobilised",
    "situation": "abroad",
    "criminal_case": "unknown",
    "wanted_listing": "yes",
    "passports_held": ["internal_passport", "foreign_passport"],
    "current_country": "KZ",
    "needs": ["legal", "shelter"],
    "contact_channel": "signal",
    "contact_handle": f"{CANARY}.handle",
    "message": MESSAGE,
}
_TICKET = re.compile(r'name="ticket" value="([A-Za-z0-9_-]*)"')


@pytest.fixture
def own_intake(
    make_settings: Callable[..., IntakeSettings], publisher: ConfirmedPublisher, store: Store
) -> Callable[..., tuple[FlaskClient, FakeClock]]:
    """An intake with these setting overrides, and its clock."""

    def make(**overrides: Any) -> tuple[FlaskClient, FakeClock]:
        clock = FakeClock()
        app = create_app(make_settings(**overrides), publisher=publisher, store=store, clock=clock)
        return app.test_client(), clock

    return make


def ticket_of(response: TestResponse) -> str:
    found = _TICKET.search(response.get_data(as_text=True))
    assert found, "no ticket on the page"
    return found.group(1)


def form(
    step: str, ticket: str = "", lang: str = "ru", **changes: list[str]
) -> dict[str, list[str]]:
    """The desertion form as a browser posts it to "/": where it is, then the answers."""
    data = {**place(lang, step), **FIELDS, **ROUTING, **changes}
    if ticket:
        data["ticket"] = [ticket]
    return {name: value for name, value in data.items() if value}


def place(lang: str, step: str, category: str = "desertion") -> dict[str, list[str]]:
    return {"lang": [lang], "category": [category], "step": [step]}


def open_form(client: FlaskClient, lang: str = "ru", category: str = "desertion") -> TestResponse:
    """The form page, reached as the help page's button reaches it: a POST to "/"."""
    response = client.post("/", data=place(lang, "form", category))
    assert response.status_code == 200
    return response


def text_of(response: TestResponse) -> str:
    return unescape(response.get_data(as_text=True))


def send(
    client: FlaskClient, clock: FakeClock, lang: str = "ru", **changes: list[str]
) -> TestResponse:
    """Open the form, wait like a person, review, then send what the review page carries."""
    ticket = ticket_of(open_form(client, lang))
    clock.advance(30)
    review = client.post("/", data=form("review", ticket, lang, **changes))
    assert review.status_code == 200
    return client.post("/", data=carried(review, "send"))


def carried(review: TestResponse, step: str) -> dict[str, list[str]]:
    """The hidden inputs of the review page's form, with the button's step."""
    data: dict[str, list[str]] = {}
    for name, value in re.findall(
        r'<input type="hidden" name="([^"]+)" value="([^"]*)">', review.get_data(as_text=True)
    ):
        data.setdefault(unescape(name), []).append(unescape(value))
    data["step"] = [step]
    return data


def test_review_shows_the_values_as_the_partner_will_read_them(
    client: FlaskClient, clock: FakeClock
) -> None:
    ticket = ticket_of(open_form(client))
    response = client.post("/", data=form("review", ticket))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    page = text_of(response)
    assert "Проверьте заявку" in page
    assert "Мобилизация" in page  # the choice's label, not its value
    assert "Казахстан" in page  # the country's name in the page's language
    assert MESSAGE.splitlines()[1] in page
    # The values ride in hidden inputs of a second form; Send is its first button.
    hidden = carried(response, "send")
    assert hidden["message"] == [MESSAGE]
    assert hidden["passports_held"] == FIELDS["passports_held"]
    assert hidden["ticket"] == [ticket]
    buttons = re.findall(r'<button type="submit" name="step" value="(\w+)"', page)
    assert buttons == ["send", "edit"]
    assert "JavaScript" in page
    # Change answers: the form again, filled in.
    edit = client.post("/", data=carried(response, "edit"))
    assert edit.status_code == 200
    assert 'id="haven-form"' in edit.get_data(as_text=True)
    assert f'value="{CANARY}.handle"' in edit.get_data(as_text=True)


@pytest.mark.parametrize(
    ("lang", "required", "choose_country"),
    [
        ("ru", "Заполните это поле.", "Выберите страну из списка."),
        ("uk", "Заповніть це поле.", "Оберіть країну зі списку."),
        ("en", "This field is required.", "Choose a country from the list."),
    ],
)
def test_errors_are_beside_their_fields_in_the_page_language(
    client: FlaskClient, lang: str, required: str, choose_country: str
) -> None:
    response = client.post(
        "/",
        data=form("review", lang=lang, status=[], current_country=["XX"]),
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert re.search(rf'id="error-status">{re.escape(required)}<', page)
    assert re.search(rf'id="error-current_country">{re.escape(choose_country)}<', page)
    # Rules across fields come once every field is valid: Signal chosen, no handle.
    no_handle = client.post("/", data=form("review", lang=lang, contact_handle=[]))
    assert no_handle.status_code == 422
    handle_error = re.search(
        r'id="error-contact_handle">([^<]+)<', unescape(no_handle.get_data(as_text=True))
    )
    assert handle_error
    assert handle_error.group(1) == read_catalog().bundle_messages(lang)["handle_required"]
    assert re.search(r'id="error-situation"></p>', page)  # a valid answer has no error
    assert (
        'name="status" value="mobilised" autocomplete="off" aria-describedby="help-status error-status" required aria-invalid="true"'
        in page
    )
    # What was typed is kept, the page's own alert says what to do.
    assert unescape(page).count(MESSAGE.splitlines()[1]) == 1
    assert read_catalog().gettext(lang, "Some answers need a fix. They are marked below.") in page
    assert "Set-Cookie" not in response.headers


def test_numbers_and_lists_are_read_and_checked_like_the_schema_does(
    client: FlaskClient,
) -> None:
    base = {
        "location": ["Казань"],
        "people_count": ["3"],
        "children_ages": ["4, 9"],
        "documents_held": ["internal_passport"],
        **ROUTING,
        **place("en", "review", "evacuation"),
    }
    ok = client.post("/", data=base)
    assert ok.status_code == 200
    assert carried(ok, "send")["children_ages"] == ["4, 9"]
    bad = client.post("/", data={**base, "people_count": ["three"], "children_ages": ["4, 30"]})
    assert bad.status_code == 422
    page = bad.get_data(as_text=True)
    assert 'id="error-people_count">Enter a whole number.<' in page
    assert 'id="error-children_ages">Enter a number from 0 to 17.<' in page
    too_many = client.post("/", data={**base, "children_ages": ["1, 2, 3, 4"]})
    assert 'id="error-children_ages">There cannot be more children than people.<' in (
        too_many.get_data(as_text=True)
    )


def test_without_javascript_the_intake_makes_the_receipt_code_and_keeps_nothing(
    client: FlaskClient,
    clock: FakeClock,
    channel: BlockingChannel,
    partners: dict[str, PrivateKey],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    reply = {"contact_channel": ["haven_reply"], "contact_handle": []}
    # The review asks nothing more: the code is made when the request is sent.
    ticket = ticket_of(open_form(client, "uk"))
    review = client.post("/", data=form("review", ticket, "uk", **reply))
    assert review.status_code == 200
    assert "haven-receipt-code" not in review.get_data(as_text=True)
    clock.advance(30)
    response = client.post("/", data=carried(review, "send"))
    assert response.status_code == 200
    page = text_of(response)
    found = re.search(
        r'<p class="receipt-code" id="haven-receipt-code" lang="uk">([^<]+)</p>', page
    )
    assert found, page
    code = parse(found.group(1))
    assert code.language == "uk"  # the page's language
    assert "кодову фразу теж створив наш сервер" in page  # said plainly: the server made it
    keys = derive(code)
    # The request carries what the code derives, and only the partners can see it.
    ((_, envelope),) = drain(channel)
    for key in partners.values():
        document = json.loads(open_envelope(envelope, [key]).content)
        assert document["fields"]["contact_channel"] == "haven_reply"
        assert document["reply_key"] == b64(keys.reply_key.public_key.to_bytes())
        assert document["mailbox_id"] == b64(keys.mailbox_id)
        assert document["access_hash"] == b64(access_hash(keys.access_secret))
    # Nothing of the code anywhere else: not in a log record, not in the envelope's clear part.
    logged = " ".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records)
    for word in code.words:
        assert word not in logged
    # Sent again (Back, reload): the spent ticket shows nothing, and no new code.
    again = client.post("/", data=carried(review, "send"))
    assert again.status_code == 403
    assert "haven-receipt-code" not in again.get_data(as_text=True)
    assert drain(channel) == []


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def test_routing_is_checked_too(client: FlaskClient) -> None:
    response = client.post(
        "/", data=form("review", lang="en", **{"routing.region": [CANARY], "routing.urgency": []})
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="error-routing.region">Choose one of the options.<' in page
    assert 'id="error-routing.urgency">' in page
    assert CANARY + "<" not in page


def test_a_valid_send_publishes_a_server_sealed_envelope_that_partners_open(
    client: FlaskClient,
    clock: FakeClock,
    channel: BlockingChannel,
    partners: dict[str, PrivateKey],
) -> None:
    response = send(client, clock)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    page = text_of(response)
    found = re.search(r'<code id="haven-sent-id">([0-9a-f]{64})</code>', page)
    assert found, page
    request_id = found.group(1)
    assert "Заявка отправлена" in page
    assert "на мгновение видел текст" in page  # said plainly: the server saw it
    assert "Что будет дальше" in page
    messages = drain(channel)
    assert len(messages) == 1
    properties, envelope = messages[0]
    assert properties.message_id == request_id == digest(envelope)
    # Both partners serving desertion can open it, each alone.
    for key in partners.values():
        opened = open_envelope(envelope, [key])
        assert opened.server_sealed is True
        assert opened.labels.as_tuple() == ("desertion", "ru-central", "ru", "urgent")
        assert json.loads(opened.content) == {"v": 1, "category": "desertion", "fields": EXPECTED}


def test_metrics_count_no_js_submissions_by_endpoint_and_outcome_only(
    client: FlaskClient, clock: FakeClock, channel: BlockingChannel
) -> None:
    assert send(client, clock).status_code == 200
    client.post("/", data=form("review", status=[CANARY]))
    text = ops_of(client).get("/metrics").get_data(as_text=True)
    assert 'category="none",endpoint="pages.step",outcome="accepted"} 1.0' in text
    assert 'endpoint="pages.step",outcome="invalid"} 1.0' in text
    assert 'endpoint="pages.step",outcome="ok"} 2.0' in text  # the form page, the review
    assert CANARY not in text
    assert len(drain(channel)) == 1


def test_a_no_js_send_is_priced_like_any_acceptance(
    own_intake: Callable[..., tuple[FlaskClient, FakeClock]],
    store: Store,
    channel: BlockingChannel,
) -> None:
    """A flood through the server-sealed path raises the proof of work as one through the API does."""
    with store.begin() as connection:
        connection.execute(delete(acceptances))  # other tests' acceptances of this run
    client, clock = own_intake(pow_min_bits=8, pow_max_bits=12, pow_baseline_per_minute=1)
    assert client.get("/v1/challenge").get_json()["difficulty"] == 8
    for _ in range(2):
        assert send(client, clock).status_code == 200
    # Two a minute is twice the baseline: one bit more.
    assert client.get("/v1/challenge").get_json()["difficulty"] == 9
    assert len(drain(channel)) == 2


@pytest.mark.parametrize(
    ("problem", "words"),
    [
        ("too_young", "быстрее, чем человек заполняет форму"),
        ("too_old", "больше часа"),
        ("forged", "Не удалось проверить эту форму"),
        ("missing", "Не удалось проверить эту форму"),
    ],
)
def test_the_ticket_is_refused_with_a_clear_message_and_values_kept(
    client: FlaskClient,
    clock: FakeClock,
    channel: BlockingChannel,
    problem: str,
    words: str,
) -> None:
    ticket = ticket_of(open_form(client))
    if problem == "too_young":
        clock.advance(1)
    elif problem == "too_old":
        clock.advance(3601)
    else:
        clock.advance(30)
    if problem == "forged":
        ticket = ticket[:-2] + ("AA" if not ticket.endswith("AA") else "BA")
    if problem == "missing":
        ticket = ""
    response = client.post("/", data=form("send", ticket))
    assert response.status_code == 403
    page = text_of(response)
    assert words in page
    assert 'role="alert"' in page
    # The answers are still there, with a ticket to try again: the same one
    # when it only has to age, else a fresh one.
    hidden = carried(response, "send")
    assert hidden["message"] == [MESSAGE]
    assert (hidden["ticket"] == [ticket]) == (problem == "too_young")
    assert drain(channel) == []


def test_after_a_send_every_page_of_the_request_posted_again_shows_nothing_of_it(
    client: FlaskClient, clock: FakeClock, channel: BlockingChannel
) -> None:
    """Back or reload re-posts a page's body from the browser's history: the help asked for, the answers."""
    help_page = client.post("/", data={"lang": "ru", "step": "help"})
    ticket = ticket_of(help_page)
    chosen = {**place("ru", "form"), "ticket": [ticket]}
    form_page = client.post("/", data=chosen)
    assert ticket_of(form_page) == ticket  # one ticket rides through the whole request
    clock.advance(30)
    reviewed = form("review", ticket)
    review = client.post("/", data=reviewed)
    assert ticket_of(review) == ticket
    sent = carried(review, "send")
    assert client.post("/", data=sent).status_code == 200
    assert len(drain(channel)) == 1
    label = CATEGORY_LABELS["desertion"]["ru"]
    for body in (chosen, reviewed, sent, carried(review, "edit")):
        again = client.post("/", data=body)
        assert again.status_code == 403
        page = text_of(again)
        assert "уже была отправлена" in page
        for secret in (label, "desertion", CANARY, MESSAGE.splitlines()[1], ticket):
            assert secret not in page
    assert drain(channel) == []  # and nothing was sent twice
    # The help page itself names no kind of help; a new request gets a new ticket.
    assert ticket_of(client.post("/", data={"lang": "ru", "step": "help"})) != ticket


def test_tickets_unit(store: Store) -> None:
    clock = FakeClock()
    used = UsedTickets(store, clock=clock)
    tickets = Tickets(b"s" * 32, used=used, min_age=5, max_age=3600, patient_age=60, clock=clock)
    other = Tickets(b"t" * 32, used=used, min_age=5, max_age=3600, patient_age=60, clock=clock)
    ticket = tickets.issue()
    clock.advance(5)
    with pytest.raises(TicketRejected) as refused:
        other.check(ticket)
    assert refused.value.problem == "invalid"
    checked = tickets.check(ticket)
    assert checked.patient_in == 55
    tickets.use(checked)
    with pytest.raises(TicketRejected) as refused:
        tickets.check(ticket)
    assert refused.value.problem == "reused"
    with pytest.raises(TicketRejected) as refused:
        tickets.use(checked)  # two sends that both passed the check: the store decides
    assert refused.value.problem == "reused"
    for bad in ("", "x" * 76, ticket + "A", "=" * 76):
        with pytest.raises(TicketRejected):
            tickets.check(bad)
    young = tickets.issue()
    clock.advance(60)
    assert tickets.check(young).patient_in == 0
    # Spent: genuine and redeemed here; carried: genuine and young enough to send.
    assert tickets.spent(ticket)
    assert not other.spent(ticket)
    fresh = tickets.issue()
    assert not tickets.spent(fresh)
    assert tickets.carry(fresh) == fresh
    for bad in ("", "x" * 76, fresh + "A"):
        assert not tickets.spent(bad)
        carried_on = tickets.carry(bad)
        assert carried_on != bad and not tickets.spent(carried_on)
    clock.advance(3601)
    assert tickets.carry(fresh) != fresh


def test_bucket_tightens_with_the_queue_and_says_how_long_to_wait() -> None:
    clock = FakeClock()
    bucket = TokenBucket(size=4, per_minute=6, clock=clock)
    assert [bucket.take().admitted for _ in range(5)] == [True] * 4 + [False]
    refused = bucket.take()
    assert refused.retry_after == 10  # 6 a minute: one every 10 seconds
    clock.advance(10)
    assert bucket.take().admitted
    # Two bits of difficulty over the floor: a quarter of the rate and the size.
    clock.advance(600)
    assert [bucket.take(2).admitted for _ in range(2)] == [True, False]
    assert bucket.take(2).retry_after == 40


def test_the_bucket_answers_503_with_retry_after_and_keeps_the_values(
    own_intake: Callable[..., tuple[FlaskClient, FakeClock]], channel: BlockingChannel
) -> None:
    client, clock = own_intake(
        nojs_bucket_size=1, nojs_refill_per_minute=1, nojs_reserved_percent=0
    )
    assert send(client, clock).status_code == 200
    response = send(client, clock, lang="en")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    page = text_of(response)
    assert "Wait 30 seconds and press Send again." in page
    assert carried(response, "send")["message"] == [MESSAGE]
    assert len(drain(channel)) == 1
    text = ops_of(client).get("/metrics").get_data(as_text=True)
    assert 'endpoint="pages.step",outcome="unavailable"} 1.0' in text


class DownPublisher:
    def publish(self, envelope: bytes, *, message_id: str) -> None:
        raise BrokerUnavailable("down", 7)

    def ready(self) -> bool:
        return False

    def watch(self, queues: Iterable[str]) -> None:
        pass

    def backlog(self) -> int | None:
        return None

    def close(self) -> None:
        pass


def test_a_broker_outage_answers_503_with_retry_after_and_keeps_the_values(
    settings: IntakeSettings, store: Store
) -> None:
    clock = FakeClock()
    client = create_app(settings, publisher=DownPublisher(), store=store, clock=clock).test_client()
    response = send(client, clock, lang="uk")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "7"
    assert "Зачекайте 7 с" in text_of(response)
    assert carried(response, "send")["message"] == [MESSAGE]
    assert 'haven_intake_broker_unavailable_total{reason="down"} 1.0' in (
        ops_of(client).get("/metrics").get_data(as_text=True)
    )


def test_a_form_body_is_bounded_and_must_be_urlencoded(client: FlaskClient) -> None:
    too_long = client.post("/", data={"message": "я" * 70_000, "step": "review"})
    assert too_long.status_code == 413
    assert too_long.mimetype == "text/html"
    assert "Слишком много текста" in too_long.get_data(as_text=True)
    as_json = client.post("/", json={"step": "review"})
    assert as_json.status_code == 415
    assert as_json.mimetype == "text/html"


def test_no_js_settings_come_from_the_environment(files: NetworkFiles) -> None:
    # The no-JavaScript path is where the intake sees plaintext: its ticket
    # ages and bucket are the operator's brake on scripted floods, and a
    # variable that is not read would leave the defaults in force unnoticed.
    environ = files.environ(
        "amqp://guest:guest@127.0.0.1:5672/%2F",
        HAVEN_NOJS_TICKET_MIN_AGE="1",
        HAVEN_NOJS_TICKET_MAX_AGE="600",
        HAVEN_NOJS_BUCKET_SIZE="3",
        HAVEN_NOJS_REFILL_PER_MINUTE="60",
    )
    settings = IntakeSettings.from_env(environ)
    read = (
        settings.nojs_ticket_min_age,
        settings.nojs_ticket_max_age,
        settings.nojs_bucket_size,
        settings.nojs_refill_per_minute,
    )
    assert read == (1, 600, 3, 60)
    # None of them is a default (5, 3600, 10, 6), so none passes by luck.
    unset = IntakeSettings.from_env(files.environ("amqp://guest:guest@127.0.0.1:5672/%2F"))
    assert (
        unset.nojs_ticket_min_age,
        unset.nojs_ticket_max_age,
        unset.nojs_bucket_size,
        unset.nojs_refill_per_minute,
    ) == (5, 3600, 10, 6)
    # Out-of-range values are refused, naming the variable the operator set.
    for variable, bad in (
        ("HAVEN_NOJS_TICKET_MIN_AGE", "-1"),
        ("HAVEN_NOJS_TICKET_MAX_AGE", "30"),
        ("HAVEN_NOJS_BUCKET_SIZE", "0"),
        ("HAVEN_NOJS_BUCKET_SIZE", "many"),
        ("HAVEN_NOJS_REFILL_PER_MINUTE", "0"),
    ):
        with pytest.raises(SettingsError, match=variable):
            IntakeSettings.from_env({**environ, variable: bad})


def test_the_plaintext_reaches_no_log_record_and_no_metric(
    client: FlaskClient,
    clock: FakeClock,
    channel: BlockingChannel,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    # Every path a value can take: review, field errors, ticket refusals, a send.
    client.post("/", data=form("review"))
    client.post("/", data=form("review", status=[CANARY], contact_handle=[f"{CANARY}\x00"]))
    client.post("/", data=form("send", CANARY))
    client.post(f"/?{CANARY}=1", data=form("send", ticket_of(open_form(client))))
    assert send(client, clock).status_code == 200
    metrics = ops_of(client).get("/metrics").get_data(as_text=True)
    logged = "\n".join(
        f"{r.name} {r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in caplog.records
    )
    for secret in (CANARY, "Казахстане", "консультация"):
        assert secret not in logged
        assert secret not in metrics
    assert len(drain(channel)) == 1


def test_a_used_ticket_is_refused_by_every_intake_instance(
    settings: IntakeSettings,
    publisher: ConfirmedPublisher,
    store: Store,
    channel: BlockingChannel,
) -> None:
    # Two instances of one deployment: the same secret, the same store, each
    # its own process state (and its own connections to the store).
    clock = FakeClock()
    second_store = Store(settings.store)
    try:
        first = create_app(settings, publisher=publisher, store=store, clock=clock).test_client()
        second = create_app(
            settings, publisher=publisher, store=second_store, clock=clock
        ).test_client()
        ticket = ticket_of(open_form(first))
        clock.advance(30)
        assert first.post("/", data=form("send", ticket)).status_code == 200
        replayed = second.post("/", data=form("send", ticket))
        assert replayed.status_code == 403
        assert "уже была отправлена" in text_of(replayed)
        assert len(drain(channel)) == 1
    finally:
        second_store.close()


def test_a_store_outage_answers_503_and_the_ticket_stays_usable(
    settings: IntakeSettings, publisher: ConfirmedPublisher, channel: BlockingChannel
) -> None:
    away = Store(StoreSettings(url="postgresql://postgres@127.0.0.1:1/haven", timeout=1))
    try:
        clock = FakeClock()
        client = create_app(settings, publisher=publisher, store=away, clock=clock).test_client()
        response = send(client, clock, lang="en")
        assert response.status_code == 503
        assert response.headers["Retry-After"] == str(settings.broker.retry_after)
        assert "cannot take requests right now" in text_of(response)
        assert carried(response, "send")["message"] == [MESSAGE]
        assert "haven_intake_store_unavailable_total 1.0" in (
            ops_of(client).get("/metrics").get_data(as_text=True)
        )
        assert drain(channel) == []
    finally:
        away.close()


class Flood:
    """One client posting a fresh ticket once a second, each just old enough (min_age)."""

    def __init__(self, client: FlaskClient, clock: FakeClock) -> None:
        self.client = client
        self.clock = clock
        self.pending: list[tuple[float, str]] = []
        self.admitted = 0

    def second(self) -> None:
        self.pending.append((self.clock(), ticket_of(open_form(self.client))))
        issued, ticket = self.pending[0]
        if self.clock() - issued >= 5:
            self.pending.pop(0)
            if self.client.post("/", data=form("send", ticket)).status_code == 200:
                self.admitted += 1


def run_flood(
    client: FlaskClient, clock: FakeClock, minutes: int, honest: Callable[[int], None]
) -> Flood:
    flood = Flood(client, clock)
    for second in range(minutes * 60):
        flood.second()
        honest(second)
        clock.advance(1)
    return flood


class Honest:
    """Each minute a new person opens the form, fills it in for 30 seconds and sends;
    on a 503 they try again once a minute with the page the intake gave back."""

    def __init__(self, client: FlaskClient, clock: FakeClock) -> None:
        self.client = client
        self.clock = clock
        self.attempts: dict[int, list[int]] = {}
        self.waiting: dict[int, tuple[float, dict[str, list[str]]]] = {}

    def __call__(self, second: int) -> None:
        if second % 60 == 0:
            person = second // 60
            ticket = ticket_of(open_form(self.client))
            self.waiting[person] = (self.clock() + 30, form("send", ticket))
            self.attempts[person] = []
        for person, (due, data) in list(self.waiting.items()):
            if self.clock() < due:
                continue
            response = self.client.post("/", data=data)
            self.attempts[person].append(response.status_code)
            if response.status_code == 200:
                del self.waiting[person]
            else:
                assert response.status_code == 503
                self.waiting[person] = (self.clock() + 60, carried(response, "send"))


def test_an_honest_requester_gets_through_a_no_js_flood(
    own_intake: Callable[..., tuple[FlaskClient, FakeClock]], channel: BlockingChannel
) -> None:
    # The flood of the measurement (bench/nojs_flood.py), shortened: one
    # client posting once a second, and a new honest requester each minute.
    client, clock = own_intake()
    honest = Honest(client, clock)
    flood = run_flood(client, clock, 4, honest)
    drain(channel)
    # Every requester who started before the last minute got through, on
    # the first or the second try (once the form's ticket was a minute old).
    finished = [honest.attempts[person] for person in range(3)]
    assert all(codes[-1] == 200 and len(codes) <= 2 for codes in finished), honest.attempts
    # The flood still gets the open share, and no more than the whole bucket.
    assert 0 < flood.admitted <= 10 + 6 * 4


def test_the_javascript_path_is_untouched_by_a_no_js_flood(
    client: FlaskClient,
    clock: FakeClock,
    channel: BlockingChannel,
    partners: dict[str, PrivateKey],
) -> None:
    run_flood(client, clock, 1, lambda _second: None)
    refused = client.post("/", data=form("send", ticket_of(open_form(client))))
    assert refused.status_code in (403, 503)  # the flood holds the open share
    drain(channel)
    for _ in range(5):
        envelope = sealed(partners)
        response = post_submission(client, submission(client, envelope))
        assert response.status_code == 202, response.get_json()
    assert len(drain(channel)) == 5


def test_a_spent_ticket_is_remembered_a_full_lifetime_from_its_use(store: Store) -> None:
    """A request that took fifty minutes to write is still hidden from a Back re-post half an hour after."""
    clock = FakeClock()
    used = UsedTickets(store, clock=clock)
    tickets = Tickets(b"s" * 32, used=used, min_age=5, max_age=3600, patient_age=60, clock=clock)
    ticket = tickets.issue()
    clock.advance(3000)
    tickets.use(tickets.check(ticket))
    clock.advance(1800)  # past the ticket's own expiry, counted from its issue
    used.purge()
    assert tickets.spent(ticket)
