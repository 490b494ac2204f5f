"""The answers page: neutral, its code field, and without JavaScript the thread opened on the server.

Partners' messages are written into the real store with haven.replies, as
the intake's mailbox endpoint stores them; follow-ups go to the real
broker. The intake's clock is the test's, so tickets age on demand.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import pytest
from flask.testing import FlaskClient
from pika.adapters.blocking_connection import BlockingChannel
from werkzeug.test import TestResponse

from haven.broker import ConfirmedPublisher
from haven.envelope import OpenError, PrivateKey, digest, open_envelope
from haven.replies import (
    FOLLOW_UP_CATEGORY,
    FollowUp,
    PartnerMessage,
    ReceiptCode,
    SigningKey,
    access_hash,
    derive,
    format_code,
    generate,
    write_message,
)
from haven.store import Mailboxes, Store
from intake import IntakeSettings, create_app
from schemas.routing import CATEGORY_LABELS
from tests.intake.conftest import FakeClock, drain

pytestmark = pytest.mark.broker

REPLY = "Здравствуйте. Мы получили заявку.\nНапишите, в каком вы городе — КАНАРЕЙКА-91d4."
FOLLOW_UP = "Я в Алматы. Канарейка-ответ-3c7e."
_TICKET = re.compile(r'name="ticket" value="([A-Za-z0-9_-]*)"')
RETENTION = 30 * 24 * 3600


@pytest.fixture
def intake(
    make_settings: Callable[..., IntakeSettings], publisher: ConfirmedPublisher, store: Store
) -> Callable[..., tuple[FlaskClient, FakeClock]]:
    def make(**overrides: Any) -> tuple[FlaskClient, FakeClock]:
        clock = FakeClock()
        app = create_app(make_settings(**overrides), publisher=publisher, store=store, clock=clock)
        return app.test_client(), clock

    return make


@pytest.fixture
def client_clock(
    intake: Callable[..., tuple[FlaskClient, FakeClock]],
) -> tuple[FlaskClient, FakeClock]:
    return intake()


@pytest.fixture
def mailboxes(store: Store) -> Mailboxes:
    return Mailboxes(store, retention_seconds=RETENTION)


@pytest.fixture
def code() -> Iterator[ReceiptCode]:
    yield generate("ru")


def write(
    mailboxes: Mailboxes,
    code: ReceiptCode,
    partner: str,
    key: PrivateKey,
    *,
    kind: str = "reply",
    state: str | None = None,
    text: str = REPLY,
    minutes: int = 0,
    signer: PrivateKey | None = None,
) -> None:
    """A partner's message into the store, as POST /v1/mailbox/messages would put it."""
    keys = derive(code)
    sent = datetime(2026, 11, 30, 8, 0, tzinfo=UTC) + timedelta(minutes=minutes)
    message = PartnerMessage(
        kind=kind,
        partner=partner,
        mailbox_id=keys.mailbox_id,
        request="ab" * 32,
        state=state,
        text=text,
        sent_at=sent.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    wire = write_message(
        message, keys.reply_key.public_key, SigningKey.from_partner_key(signer or key)
    )
    mailboxes.write(
        keys.mailbox_id,
        access_hash(keys.access_secret),
        wire.message_id,
        json.dumps(wire.to_json()).encode(),
    )


def ticket_of(response: TestResponse) -> str:
    found = _TICKET.search(response.get_data(as_text=True))
    assert found, "no ticket on the page"
    return found.group(1)


def text_of(response: TestResponse) -> str:
    return unescape(response.get_data(as_text=True))


def alert_of(response: TestResponse) -> str:
    found = re.search(r'role="alert"[^>]*>([^<]*)<', text_of(response))
    assert found, "no alert on the page"
    return found.group(1)


def open_page(client: FlaskClient, lang: str = "ru") -> TestResponse:
    response = client.post("/", data={"lang": lang, "step": "status"})
    assert response.status_code == 200
    return response


def read(
    client: FlaskClient, clock: FakeClock, typed: str, lang: str = "ru", wait: float = 30
) -> TestResponse:
    """Open the page, type the code as a person does (taking a while), press Open."""
    ticket = ticket_of(open_page(client, lang))
    clock.advance(wait)
    return client.post(
        "/", data={"lang": lang, "step": "status_read", "code": typed, "ticket": ticket}
    )


def carried(page: TestResponse, step: str, **extra: str) -> dict[str, str]:
    """A form of the page as its button posts it: its hidden inputs and the step."""
    data = dict(
        (unescape(name), unescape(value))
        for name, value in re.findall(
            r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.get_data(as_text=True)
        )
    )
    return {**data, "step": step, **extra}


def test_the_page_is_neutral_and_posts_the_code_in_the_body_only(
    client_clock: tuple[FlaskClient, FakeClock],
) -> None:
    client, _ = client_clock
    home = text_of(client.post("/", data={"lang": "ru", "step": "help"}))
    # The help page's way in: a POST of the step, no ticket, no URL of its own.
    assert 'name="step" value="status"' in home
    response = open_page(client)
    page = text_of(response)
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    assert "<title>Haven</title>" in page
    # It names no kind of help: not one category.
    for labels in CATEGORY_LABELS.values():
        for label in labels.values():
            assert label not in page
    assert re.search(r'<form id="haven-status-form" method="post" action="/"', page)
    assert re.search(r'<textarea id="field-code" name="code"', page)
    assert '<script src="/static/haven-status.js" defer></script>' in page
    assert "haven-form.js" not in page
    config = json.loads(
        re.search(
            r'<script type="application/json" id="haven-config">(.*?)</script>', page, re.S
        ).group(1)  # type: ignore[union-attr]
    )
    assert config["fetch_url"] == "/v1/mailbox/fetch"
    assert config["receipt_worker_url"] == "/static/haven-receipt-worker.js"
    assert config["messages"]["code_unknown_word"] == (
        "Слово № {position} кодовой фразы не найдено в списке слов."
    )
    assert "Кодовая фраза" in page


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda words: words[:8], "В кодовой фразе 9 слов, а здесь 8."),
        (lambda words: [*words[:2], "жжжжжж", *words[3:]], "Слово № 3 кодовой фразы"),
        (lambda words: [words[0], words[2], words[1], *words[3:]], "не прошла проверку"),
    ],
)
def test_a_code_that_does_not_read_is_told_by_reason_and_position_never_by_word(
    client_clock: tuple[FlaskClient, FakeClock],
    code: ReceiptCode,
    change: Callable[[list[str]], list[str]],
    expected: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    client, clock = client_clock
    caplog.set_level(logging.DEBUG)
    typed = " ".join(change(format_code(code).split()))
    response = read(client, clock, typed)
    assert response.status_code == 422
    alert = alert_of(response)
    assert expected in alert
    for word in typed.split():
        assert word not in alert
        assert word not in caplog.text
    # What was typed comes back in the field, to be fixed rather than typed again.
    assert f">{typed}</textarea>" in text_of(response)


def test_without_javascript_the_intake_opens_the_thread_and_keeps_nothing(
    client_clock: tuple[FlaskClient, FakeClock],
    mailboxes: Mailboxes,
    code: ReceiptCode,
    partners: dict[str, PrivateKey],
    caplog: pytest.LogCaptureFixture,
) -> None:
    client, clock = client_clock
    caplog.set_level(logging.DEBUG)
    write(mailboxes, code, "lawyers", partners["lawyers"], kind="status", state="received", text="")
    write(mailboxes, code, "lawyers", partners["lawyers"], minutes=5)
    write(
        mailboxes,
        code,
        "lawyers",
        partners["lawyers"],
        kind="status",
        state="need_info",
        text="",
        minutes=6,
    )
    # Signed by another partner's key in this partner's name: never shown.
    write(
        mailboxes,
        code,
        "lawyers",
        partners["lawyers"],
        text="ПОДДЕЛКА-77aa",
        minutes=7,
        signer=partners["evacuators"],
    )
    typed = format_code(code).upper().replace(" ", ", ")  # as a person might copy it
    response = read(client, clock, typed)
    assert response.status_code == 200, alert_of(response)
    page = text_of(response)
    assert REPLY in page  # exactly, line break and all
    assert "ПОДДЕЛКА" not in page
    assert "Одно сообщение не удалось проверить, поэтому оно не показано." in page
    assert "Partner lawyers" in page
    # The current status is the last status message's, in the page's language.
    assert "Статус:</strong> Организации нужно больше сведений." in page
    assert "наш сервер на мгновение использовал вашу кодовую фразу" in page
    # A follow-up goes to the partner of the latest verified message.
    assert "Написать: Partner lawyers" in page
    assert REPLY.splitlines()[0] not in caplog.text
    assert format_code(code).split()[0] not in caplog.text
    assert derive(code).mailbox_id.hex() not in caplog.text


def test_a_wrong_code_and_an_empty_mailbox_are_the_same_page(
    client_clock: tuple[FlaskClient, FakeClock],
    mailboxes: Mailboxes,
    partners: dict[str, PrivateKey],
) -> None:
    client, clock = client_clock
    # A mailbox made with another access hash: this code's secret is wrong for it.
    taken = generate("ru")
    keys = derive(taken)
    message = PartnerMessage(
        kind="status",
        partner="lawyers",
        mailbox_id=keys.mailbox_id,
        request="cd" * 32,
        state="received",
        text="",
        sent_at="2026-11-30T08:00:00Z",
    )
    wire = write_message(
        message, keys.reply_key.public_key, SigningKey.from_partner_key(partners["lawyers"])
    )
    mailboxes.write(
        keys.mailbox_id, b"\x01" * 32, wire.message_id, json.dumps(wire.to_json()).encode()
    )
    pages = []
    for typed in (format_code(taken), format_code(generate("ru"))):
        response = read(client, clock, typed)
        assert response.status_code == 200
        body = response.get_data(as_text=True).replace(typed, "CODE")
        pages.append(_TICKET.sub("TICKET", body))
    assert pages[0] == pages[1]
    assert "Сообщений нет." in unescape(pages[0])


def test_a_follow_up_goes_sealed_to_the_latest_partner_alone(
    client_clock: tuple[FlaskClient, FakeClock],
    mailboxes: Mailboxes,
    code: ReceiptCode,
    partners: dict[str, PrivateKey],
    channel: BlockingChannel,
) -> None:
    client, clock = client_clock
    write(mailboxes, code, "evacuators", partners["evacuators"])
    write(mailboxes, code, "lawyers", partners["lawyers"], minutes=10)
    ticket = ticket_of(open_page(client))
    clock.advance(30)
    thread = client.post(
        "/", data={"lang": "ru", "step": "status_read", "code": format_code(code), "ticket": ticket}
    )
    first = ticket
    assert thread.status_code == 200
    clock.advance(30)
    sent = client.post(
        "/", data=carried(thread, "status_follow_up", text=FOLLOW_UP.replace(" ", "\r\n", 1))
    )
    assert sent.status_code == 200, text_of(sent)
    assert "Получатель — только Partner lawyers." in text_of(sent)
    assert FOLLOW_UP not in text_of(sent)
    ((properties, envelope),) = drain(channel)
    assert properties.message_id == digest(envelope)
    opened = open_envelope(envelope, [partners["lawyers"]])
    assert opened.labels.category == FOLLOW_UP_CATEGORY
    assert opened.labels.region == "lawyers"
    assert opened.labels.language == "ru"
    assert opened.server_sealed is True
    follow_up = FollowUp.parse(opened.content)
    keys = derive(code)
    assert follow_up.text == FOLLOW_UP.replace(" ", "\n", 1)
    assert follow_up.mailbox_id == keys.mailbox_id
    assert follow_up.reply_key == keys.reply_key.public_key.to_bytes()
    with pytest.raises(OpenError):  # the other partner cannot open it at all
        open_envelope(envelope, [partners["evacuators"]])
    # Back (the same body again): the ticket is spent, nothing is shown or sent.
    again = client.post("/", data=carried(thread, "status_follow_up", text=FOLLOW_UP))
    assert again.status_code == 403
    assert "Эта страница уже использована" in text_of(again)
    assert REPLY.splitlines()[0] not in text_of(again)
    # So is Back to the thread itself: its read spent its ticket.
    back = client.post(
        "/", data={"lang": "ru", "step": "status_read", "code": format_code(code), "ticket": first}
    )
    assert back.status_code == 403
    assert REPLY.splitlines()[0] not in text_of(back)
    assert drain(channel) == []


def test_a_follow_up_that_needs_a_fix_keeps_the_text_and_spends_nothing(
    client_clock: tuple[FlaskClient, FakeClock],
    mailboxes: Mailboxes,
    code: ReceiptCode,
    partners: dict[str, PrivateKey],
    channel: BlockingChannel,
) -> None:
    client, clock = client_clock
    write(mailboxes, code, "lawyers", partners["lawyers"])
    thread = read(client, clock, format_code(code))
    clock.advance(30)
    blank = client.post("/", data=carried(thread, "status_follow_up", text="   "))
    assert blank.status_code == 422
    assert 'id="error-text">Заполните это поле.<' in text_of(blank)
    long = client.post("/", data=carried(thread, "status_follow_up", text="ы" * 4001))
    assert long.status_code == 422
    assert "Не больше 4000 символов." in text_of(long)
    assert drain(channel) == []
    fixed = client.post("/", data=carried(long, "status_follow_up", text=FOLLOW_UP))
    assert fixed.status_code == 200
    assert len(drain(channel)) == 1


def test_no_follow_up_form_before_any_partner_wrote(
    client_clock: tuple[FlaskClient, FakeClock], code: ReceiptCode
) -> None:
    client, clock = client_clock
    page = text_of(read(client, clock, format_code(code)))
    assert 'value="status_follow_up"' not in page
    assert 'value="status_delete"' in page


def test_delete_asks_first_then_deletes_for_good(
    client_clock: tuple[FlaskClient, FakeClock],
    mailboxes: Mailboxes,
    code: ReceiptCode,
    partners: dict[str, PrivateKey],
) -> None:
    client, clock = client_clock
    write(mailboxes, code, "lawyers", partners["lawyers"])
    keys = derive(code)
    thread = read(client, clock, format_code(code))
    clock.advance(30)
    asked = client.post("/", data=carried(thread, "status_delete"))
    assert asked.status_code == 200
    assert "Удалить эту переписку навсегда?" in text_of(asked)
    assert len(mailboxes.fetch(keys.mailbox_id, access_hash(keys.access_secret))) == 1
    done = client.post("/", data=carried(asked, "status_delete_confirmed"))
    assert done.status_code == 200, text_of(done)
    assert "Переписка удалена" in text_of(done)
    assert mailboxes.fetch(keys.mailbox_id, access_hash(keys.access_secret)) == []
    assert "Сообщений нет." in text_of(read(client, clock, format_code(code)))


def test_a_ticket_too_young_keeps_the_code_and_opens_nothing(
    client_clock: tuple[FlaskClient, FakeClock], code: ReceiptCode
) -> None:
    client, clock = client_clock
    response = read(client, clock, format_code(code), wait=0)
    assert response.status_code == 403
    assert "Это быстрее, чем печатает человек." in alert_of(response)
    assert f">{format_code(code)}</textarea>" in text_of(response)
    # The same ticket, once it has aged, opens the thread.
    clock.advance(30)
    again = client.post("/", data=carried(response, "status_read", code=format_code(code)))
    assert again.status_code == 200


def test_the_bucket_answers_503_with_retry_after_and_keeps_the_code(
    intake: Callable[..., tuple[FlaskClient, FakeClock]], code: ReceiptCode
) -> None:
    client, clock = intake(nojs_bucket_size=1, nojs_refill_per_minute=1, nojs_reserved_percent=0)
    assert read(client, clock, format_code(code)).status_code == 200
    busy = read(client, clock, format_code(code), wait=6)
    assert busy.status_code == 503
    assert int(busy.headers["Retry-After"]) >= 1
    assert f">{format_code(code)}</textarea>" in text_of(busy)


def test_the_code_never_reaches_a_url_a_cookie_or_the_metrics(
    client_clock: tuple[FlaskClient, FakeClock], code: ReceiptCode
) -> None:
    client, clock = client_clock
    response = read(client, clock, format_code(code))
    assert "Set-Cookie" not in response.headers
    assert not re.search(r'(href|action|src)="[^"]*\?', response.get_data(as_text=True))
    keys = derive(code)
    from tests.intake.conftest import ops_of  # noqa: PLC0415

    metrics = ops_of(client).get("/metrics").get_data(as_text=True)
    for secret in (
        format_code(code).split()[0],
        keys.mailbox_id.hex(),
        base64.b64encode(keys.mailbox_id).decode(),
    ):
        assert secret not in metrics


# The code field's label and a status's meaning, per page language.
SPOKEN = {
    "uk": ("Кодова фраза", "Вашою заявкою займаються."),
    "en": ("Code phrase", "Someone is working on your request."),
}


@pytest.mark.parametrize("lang", sorted(SPOKEN))
def test_the_page_and_the_thread_speak_the_page_language(
    client_clock: tuple[FlaskClient, FakeClock],
    mailboxes: Mailboxes,
    code: ReceiptCode,
    partners: dict[str, PrivateKey],
    lang: str,
) -> None:
    client, clock = client_clock
    label, state = SPOKEN[lang]
    page = text_of(open_page(client, lang))
    assert f'<html lang="{lang}">' in page
    assert label in page
    write(
        mailboxes, code, "lawyers", partners["lawyers"], kind="status", state="in_progress", text=""
    )
    # The code's own language does not matter: the keys depend on its bits alone.
    thread = text_of(read(client, clock, format_code(code), lang=lang))
    assert state in thread


def test_a_follow_up_goes_only_to_the_partner_the_page_named(
    client_clock: tuple[FlaskClient, FakeClock],
    mailboxes: Mailboxes,
    code: ReceiptCode,
    partners: dict[str, PrivateKey],
    channel: BlockingChannel,
) -> None:
    # The page said "Write to lawyers"; another organisation wrote while the
    # person typed. The text must not go to it unseen: the page asks again.
    client, clock = client_clock
    write(mailboxes, code, "lawyers", partners["lawyers"])
    thread = read(client, clock, format_code(code))
    assert "Partner lawyers" in text_of(thread)
    write(mailboxes, code, "evacuators", partners["evacuators"], minutes=10)
    clock.advance(30)
    asked = client.post("/", data=carried(thread, "status_follow_up", text=FOLLOW_UP))
    assert asked.status_code == 409, text_of(asked)
    assert drain(channel) == []
    assert FOLLOW_UP in text_of(asked)  # the text is kept, to send again
    # Sent again from the page that now names the new writer: it goes there.
    clock.advance(30)
    sent = client.post("/", data=carried(asked, "status_follow_up", text=FOLLOW_UP))
    assert sent.status_code == 200, text_of(sent)
    ((_, envelope),) = drain(channel)
    assert open_envelope(envelope, [partners["evacuators"]]).labels.region == "evacuators"
    # A body naming anyone but the latest writer is refused the same way.
    for named in ("lawyers", "", "nobody-here"):
        clock.advance(30)
        forged = client.post(
            "/", data={**carried(sent, "status_follow_up", text=FOLLOW_UP), "partner": named}
        )
        assert forged.status_code == 409, named
        sent = forged
    assert drain(channel) == []


def test_a_partners_text_is_shown_as_text_never_as_markup(
    client_clock: tuple[FlaskClient, FakeClock],
    mailboxes: Mailboxes,
    code: ReceiptCode,
    partners: dict[str, PrivateKey],
) -> None:
    # A partner's text is whatever a (possibly hostile) partner typed.
    hostile = '<img src=x onerror="alert(1)"></p><script>alert(2)</script>'
    client, clock = client_clock
    write(mailboxes, code, "lawyers", partners["lawyers"], text=hostile)
    response = read(client, clock, format_code(code))
    assert response.status_code == 200
    raw = response.get_data(as_text=True)
    assert "<img" not in raw
    assert "<script>alert" not in raw
    assert hostile in text_of(response)  # shown, exactly, as text


@pytest.mark.parametrize("where", ["cross-site", "same-site"])
def test_a_page_another_site_posts_here_is_refused_before_it_is_read(
    client_clock: tuple[FlaskClient, FakeClock],
    mailboxes: Mailboxes,
    code: ReceiptCode,
    partners: dict[str, PrivateKey],
    where: str,
) -> None:
    """A hostile site posting its own code from the person's browser would
    show them a thread that is not theirs, and a follow-up written there
    would carry the attacker's reply key. The browser says where a post
    comes from; only this site's own pages (and history) are answered."""
    client, clock = client_clock
    write(mailboxes, code, "lawyers", partners["lawyers"], kind="status", state="received", text="")
    ticket = ticket_of(open_page(client, "ru"))
    clock.advance(30)
    form = {"lang": "ru", "step": "status_read", "code": format_code(code), "ticket": ticket}
    refused = client.post("/", data=form, headers={"Sec-Fetch-Site": where})
    assert refused.status_code == 403
    assert "с другого сайта" in unescape(refused.get_data(as_text=True))
    assert "Организация получила" not in unescape(refused.get_data(as_text=True))
    # The same post from the site's own page (or with no such header) opens the thread.
    for own in ({"Sec-Fetch-Site": "same-origin"}, {}):
        ticket = ticket_of(open_page(client, "ru"))
        clock.advance(30)
        opened = client.post("/", data={**form, "ticket": ticket}, headers=own)
        assert opened.status_code == 200
        assert "Организация получила" in unescape(opened.get_data(as_text=True))


def test_a_reply_signed_by_a_key_not_in_the_directory_is_counted_and_never_shown(
    client_clock: tuple[FlaskClient, FakeClock],
    mailboxes: Mailboxes,
    code: ReceiptCode,
    partners: dict[str, PrivateKey],
) -> None:
    client, clock = client_clock
    write(mailboxes, code, "lawyers", partners["lawyers"], text="Настоящий ответ")
    # Straight into the store: the intake itself refuses a forged signature.
    forger = PrivateKey.generate()
    write(
        mailboxes,
        code,
        "lawyers",
        partners["lawyers"],
        text="Поддельный ответ",
        minutes=5,
        signer=forger,
    )
    page = unescape(read(client, clock, format_code(code)).get_data(as_text=True))
    assert "Настоящий ответ" in page
    assert "Поддельный" not in page
    assert "Одно сообщение не удалось проверить, поэтому оно не показано." in page
