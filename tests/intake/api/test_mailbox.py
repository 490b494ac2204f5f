"""The mailbox API against the real store and real keys: every answer of docs/replies-v1.md section 4."""

from __future__ import annotations

import base64
import hashlib
import itertools
import logging
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from haven.broker import ConfirmedPublisher
from haven.directory import empty_directory, key_entry, sign_directory, with_partner
from haven.envelope import Labels, PrivateKey, digest, seal
from haven.replies import (
    REPLY_LABELS,
    PartnerMessage,
    SigningKey,
    WireMessage,
    access_hash,
    write_message,
)
from haven.store import Store, StoreSettings
from haven.store.schema import mailboxes
from intake import IntakeSettings, create_app
from intake.app import ops_app
from intake.guards.pow import CHALLENGE_HEADER
from tests.intake.conftest import FakeClock, NetworkFiles, partner_entry

pytestmark = pytest.mark.broker

SENT_AT = "2026-11-30T08:00:00Z"


@dataclass
class Requester:
    """What a requester's device derives from its receipt code (here: random, as good)."""

    mailbox_id: bytes
    access_secret: bytes
    reply_key: PrivateKey

    @property
    def access_hash(self) -> bytes:
        return access_hash(self.access_secret)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
def requester() -> Requester:
    return Requester(secrets.token_bytes(32), secrets.token_bytes(32), PrivateKey.generate())


def message(
    partners: dict[str, PrivateKey],
    requester: Requester,
    text: str = "We have your request.",
    *,
    partner: str = "lawyers",
    signer: PrivateKey | None = None,
    mailbox_id: bytes | None = None,
) -> WireMessage:
    """A partner's reply, sealed to the requester's reply key and signed (haven.replies)."""
    plain = PartnerMessage(
        kind="reply",
        partner=partner,
        mailbox_id=mailbox_id or requester.mailbox_id,
        request="ab" * 32,
        state=None,
        text=text,
        sent_at=SENT_AT,
    )
    key = SigningKey.from_partner_key(signer or partners[partner])
    return write_message(plain, requester.reply_key.public_key, key)


def write(
    client: FlaskClient,
    requester: Requester,
    wire: WireMessage | dict[str, Any],
    *,
    with_hash: bool = True,
    access: bytes | None = None,
) -> TestResponse:
    body: dict[str, Any] = {
        "mailbox_id": b64(requester.mailbox_id),
        "message": wire.to_json() if isinstance(wire, WireMessage) else wire,
    }
    if with_hash:
        body["access_hash"] = b64(access or requester.access_hash)
    return client.post("/v1/mailbox/messages", json=body)


def target(action: str, mailbox_id: bytes) -> bytes:
    """The work target, written from docs/replies-v1.md section 4.2, not from the intake's code."""
    return hashlib.sha256(
        b"haven/replies/v1 mailbox\x00" + action.encode() + b"\x00" + mailbox_id
    ).digest()


def solve(token: str, work_target: bytes, difficulty: int) -> str:
    """The first decimal nonce whose hash (docs/intake-api.md) has `difficulty` leading zero bits."""
    prefix = b"haven/v1 pow\x00" + base64.urlsafe_b64decode(token) + work_target
    for n in itertools.count():
        value = int.from_bytes(hashlib.sha256(prefix + str(n).encode()).digest(), "big")
        if 256 - value.bit_length() >= difficulty:
            return str(n)
    raise AssertionError("unreachable")


def access_body(
    client: FlaskClient,
    action: str,
    mailbox_id: bytes,
    secret: bytes,
    *,
    solved_for: str | None = None,
    solved_mailbox: bytes | None = None,
) -> dict[str, Any]:
    challenge = client.get("/v1/challenge").get_json()
    work = target(solved_for or action, solved_mailbox or mailbox_id)
    return {
        "mailbox_id": b64(mailbox_id),
        "access_secret": b64(secret),
        "pow": {
            "challenge": challenge["token"],
            "nonce": solve(challenge["token"], work, challenge["difficulty"]),
        },
    }


def paid(client: FlaskClient, action: str, body: dict[str, Any]) -> TestResponse:
    return client.post(
        f"/v1/mailbox/{action}", json=body, headers={CHALLENGE_HEADER: body["pow"]["challenge"]}
    )


def fetch(client: FlaskClient, mailbox_id: bytes, secret: bytes) -> TestResponse:
    return paid(client, "fetch", access_body(client, "fetch", mailbox_id, secret))


def delete(client: FlaskClient, mailbox_id: bytes, secret: bytes) -> TestResponse:
    return paid(client, "delete", access_body(client, "delete", mailbox_id, secret))


def assert_error(response: TestResponse, status: int, code: str, field: str | None) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert (error["code"], error.get("field")) == (code, field)
    assert error["message"]
    assert response.headers["Cache-Control"] == "no-store"


# Writing (partners): the answer table of section 4.1, row by row.


def test_a_partner_s_first_message_makes_the_mailbox_and_a_repeat_is_answered_200(
    client: FlaskClient, partners: dict[str, PrivateKey], requester: Requester
) -> None:
    wire = message(partners, requester)
    first = write(client, requester, wire)
    assert first.status_code == 201, first.get_json()
    assert first.get_json() == {"id": digest(wire.sealed)}
    assert first.headers["Cache-Control"] == "no-store"
    again = write(client, requester, wire)
    assert again.status_code == 200
    assert again.get_json() == first.get_json()
    # Later messages may leave the access hash out.
    second = message(partners, requester, "Second.")
    assert write(client, requester, second, with_hash=False).status_code == 201
    fetched = fetch(client, requester.mailbox_id, requester.access_secret)
    assert fetched.status_code == 200
    assert fetched.get_json()["messages"] == [wire.to_json(), second.to_json()]


def test_not_signed_unknown_partner_no_signing_key_or_a_bad_signature(
    client: FlaskClient,
    files: NetworkFiles,
    partners: dict[str, PrivateKey],
    requester: Requester,
) -> None:
    # A partner the directory lists without a signing key.
    unsigned = PrivateKey.generate()
    now = datetime.now(UTC)
    directory = empty_directory("haven-test", now=now)
    for name, key in sorted(partners.items()):
        directory = with_partner(directory, partner_entry(name, key, ["desertion"]), now=now)
    entry = partner_entry("unsigned", unsigned, ["desertion"])
    entry["keys"] = [key_entry(unsigned.public_key)]
    directory = with_partner(directory, entry, now=now)
    files.directory_file.write_bytes(sign_directory(directory, files.network_key))
    assert client.get("/v1/directory").status_code == 200  # the new version is served
    cases = [
        # Not in the directory at all.
        message({"outsider": PrivateKey.generate()}, requester, partner="outsider"),
        # In it, but without a signing key.
        message({"unsigned": unsigned}, requester, partner="unsigned"),
        # Signed by another partner's key, in this partner's name.
        message(partners, requester, signer=partners["evacuators"]),
        # Signed for another mailbox, and moved here.
        message(partners, requester, mailbox_id=secrets.token_bytes(32)),
    ]
    for wire in cases:
        assert_error(write(client, requester, wire), 403, "not_signed", "message.signature")
    tampered = message(partners, requester).to_json()
    tampered["signature"] = b64(bytes(64))
    assert_error(write(client, requester, tampered), 403, "not_signed", "message.signature")
    # Nothing was made.
    assert fetch(client, requester.mailbox_id, requester.access_secret).get_json()["messages"] == []


def test_mailbox_unknown_conflict_and_gone(
    client: FlaskClient, partners: dict[str, PrivateKey], requester: Requester
) -> None:
    first = message(partners, requester)
    assert_error(
        write(client, requester, first, with_hash=False), 409, "mailbox_unknown", "access_hash"
    )
    assert write(client, requester, first).status_code == 201
    assert_error(
        write(client, requester, message(partners, requester), access=secrets.token_bytes(32)),
        409,
        "mailbox_conflict",
        "access_hash",
    )
    assert delete(client, requester.mailbox_id, requester.access_secret).get_json() == {
        "status": "deleted"
    }
    # Deleted: a partner writing to it later is told so, with or without the hash,
    # instead of making it anew.
    for with_hash in (True, False):
        assert_error(
            write(client, requester, message(partners, requester), with_hash=with_hash),
            410,
            "mailbox_gone",
            None,
        )
    assert fetch(client, requester.mailbox_id, requester.access_secret).get_json()["messages"] == []


def test_a_mailbox_holds_a_hundred_messages(
    client: FlaskClient, partners: dict[str, PrivateKey], requester: Requester
) -> None:
    wires = [message(partners, requester, f"Message {n}.") for n in range(101)]
    for wire in wires[:100]:
        assert write(client, requester, wire).status_code == 201
    assert_error(write(client, requester, wires[100]), 409, "mailbox_full", None)
    assert write(client, requester, wires[0]).status_code == 200  # a repeat is still answered
    fetched = fetch(client, requester.mailbox_id, requester.access_secret)
    assert fetched.get_json()["messages"] == [wire.to_json() for wire in wires[:100]]
    # A full thread still fits the buckets: 100 short messages, about 0.6 MiB, in 1 MiB.
    assert len(fetched.get_data()) == 1048576


def _sealed_as(labels: Labels, recipients: list[PrivateKey]) -> bytes:
    return seal(b"{}", labels, [key.public_key for key in recipients])


def _signed(partners: dict[str, PrivateKey], requester: Requester, sealed: bytes) -> dict[str, Any]:
    from haven.replies.message import signed_bytes  # noqa: PLC0415 - what a partner signs

    signer = SigningKey.from_partner_key(partners["lawyers"])
    signature = signer.sign(signed_bytes(requester.mailbox_id, "lawyers", sealed))
    return {"partner": "lawyers", "sealed": b64(sealed), "signature": b64(signature)}


def test_malformed_fields_are_named(
    client: FlaskClient, partners: dict[str, PrivateKey], requester: Requester
) -> None:
    good = message(partners, requester).to_json()
    cases: list[tuple[dict[str, Any], str]] = [
        ({"mailbox_id": "short", "message": good}, "mailbox_id"),
        ({"mailbox_id": b64(bytes(31)), "message": good}, "mailbox_id"),
        (
            {"mailbox_id": b64(requester.mailbox_id), "access_hash": 5, "message": good},
            "access_hash",
        ),
        ({"mailbox_id": b64(requester.mailbox_id)}, "message"),
        ({"mailbox_id": b64(requester.mailbox_id), "message": "text"}, "message"),
        (
            {"mailbox_id": b64(requester.mailbox_id), "message": good, "request": "x"},
            "request",
        ),
        (
            {"mailbox_id": b64(requester.mailbox_id), "message": {**good, "partner": "X"}},
            "message.partner",
        ),
        (
            {"mailbox_id": b64(requester.mailbox_id), "message": {**good, "sealed": "%%"}},
            "message.sealed",
        ),
        (
            {"mailbox_id": b64(requester.mailbox_id), "message": {**good, "signature": "AAAA"}},
            "message.signature",
        ),
        (
            {"mailbox_id": b64(requester.mailbox_id), "message": {**good, "extra": "1"}},
            "message.extra",
        ),
    ]
    for body, field in cases:
        assert_error(client.post("/v1/mailbox/messages", json=body), 422, "invalid", field)
    # Signed, but not a partner message's form: checked after the signature.
    two = _sealed_as(REPLY_LABELS, [requester.reply_key, PrivateKey.generate()])
    labelled = _sealed_as(Labels("desertion", "ru-central", "ru", "urgent"), [requester.reply_key])
    for sealed in (b"not an envelope", two, labelled):
        response = write(client, requester, _signed(partners, requester, sealed))
        assert_error(response, 422, "invalid", "message.sealed")
    assert_error(
        client.post("/v1/mailbox/messages", data=b"{"), 415, "unsupported_media_type", None
    )
    response = client.post(
        "/v1/mailbox/messages", data=b"{", headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400, "malformed_json", None)


# Fetching and deleting (requesters).


def test_a_wrong_code_an_unknown_mailbox_and_an_empty_one_look_the_same(
    client: FlaskClient, partners: dict[str, PrivateKey], requester: Requester
) -> None:
    assert write(client, requester, message(partners, requester)).status_code == 201
    right = fetch(client, requester.mailbox_id, requester.access_secret)
    wrong = fetch(client, requester.mailbox_id, secrets.token_bytes(32))
    unknown = fetch(client, secrets.token_bytes(32), requester.access_secret)
    # Every mailbox a partner made holds a message; the empty one a requester
    # meets is one they deleted (or one that expired), asked with the right secret.
    emptied = Requester(secrets.token_bytes(32), secrets.token_bytes(32), PrivateKey.generate())
    write(client, emptied, message(partners, emptied))
    delete(client, emptied.mailbox_id, emptied.access_secret)
    answers = [wrong, unknown, fetch(client, emptied.mailbox_id, emptied.access_secret)]
    assert right.status_code == 200 and len(right.get_json()["messages"]) == 1
    for answer in answers:
        assert answer.status_code == 200
        assert answer.mimetype == "application/json"
        assert answer.get_data() == answers[0].get_data()
        assert answer.get_json()["messages"] == []
    # The same size as the right answer too: one short message stays in the first bucket.
    assert len(right.get_data()) == len(wrong.get_data()) == 65536
    assert right.headers["Cache-Control"] == "no-store"


def test_the_fetch_answer_grows_by_buckets_only(
    client: FlaskClient, partners: dict[str, PrivateKey], requester: Requester
) -> None:
    sizes = set()
    for n in range(4):
        # Long replies: each wire message is about 5.5 KiB (4096-byte bucket in base64).
        write(client, requester, message(partners, requester, "ж" * 1500 + str(n)))
        sizes.add(len(fetch(client, requester.mailbox_id, requester.access_secret).get_data()))
    assert sizes == {65536}
    for n in range(12):
        write(client, requester, message(partners, requester, "ж" * 1500 + f"more {n}"))
    assert len(fetch(client, requester.mailbox_id, requester.access_secret).get_data()) == 262144


def test_delete_then_fetch_is_empty_and_a_wrong_secret_deletes_nothing(
    client: FlaskClient, partners: dict[str, PrivateKey], requester: Requester
) -> None:
    write(client, requester, message(partners, requester))
    wrong = delete(client, requester.mailbox_id, secrets.token_bytes(32))
    assert wrong.status_code == 200 and wrong.get_json() == {"status": "deleted"}
    assert (
        len(fetch(client, requester.mailbox_id, requester.access_secret).get_json()["messages"])
        == 1
    )
    right = delete(client, requester.mailbox_id, requester.access_secret)
    assert right.get_data() == wrong.get_data()
    assert fetch(client, requester.mailbox_id, requester.access_secret).get_json()["messages"] == []
    unknown = delete(client, secrets.token_bytes(32), requester.access_secret)
    assert unknown.get_data() == wrong.get_data()


def test_proof_of_work_missing_wrong_or_spent_is_refused(
    client: FlaskClient, requester: Requester
) -> None:
    mailbox, secret = requester.mailbox_id, requester.access_secret
    body = access_body(client, "fetch", mailbox, secret)
    for action in ("fetch", "delete"):
        no_header = client.post(f"/v1/mailbox/{action}", json=body)
        assert_error(no_header, 403, "pow_invalid", CHALLENGE_HEADER)
        assert no_header.headers["Connection"] == "close"  # refused before the body is read
    # Work for a fetch does not pay for a delete, nor for another mailbox.
    assert_error(paid(client, "delete", body), 403, "pow_insufficient", "pow.nonce")
    other = access_body(client, "fetch", mailbox, secret, solved_mailbox=secrets.token_bytes(32))
    assert_error(paid(client, "fetch", other), 403, "pow_insufficient", "pow.nonce")
    as_delete = access_body(client, "fetch", mailbox, secret, solved_for="delete")
    assert_error(paid(client, "fetch", as_delete), 403, "pow_insufficient", "pow.nonce")
    # The body's challenge must be the header's.
    fresh = client.get("/v1/challenge").get_json()["token"]
    response = client.post("/v1/mailbox/fetch", json=body, headers={CHALLENGE_HEADER: fresh})
    assert_error(response, 403, "pow_invalid", "pow.challenge")
    # Paid once, fetched once.
    assert paid(client, "fetch", body).status_code == 200
    assert_error(paid(client, "fetch", body), 403, "pow_invalid", "pow.challenge")


def test_access_fields_are_named(client: FlaskClient, requester: Requester) -> None:
    body = access_body(client, "fetch", requester.mailbox_id, requester.access_secret)
    for change, field in (
        ({"access_secret": "short"}, "access_secret"),
        ({"mailbox_id": b64(bytes(33))}, "mailbox_id"),
        ({"pow": None}, "pow"),
        ({"code": "words"}, "code"),
    ):
        response = client.post(
            "/v1/mailbox/fetch",
            json={**body, **change},
            headers={CHALLENGE_HEADER: body["pow"]["challenge"]},
        )
        assert_error(response, 422, "invalid", field)


@pytest.fixture
def short_client(
    make_settings: Callable[..., IntakeSettings],
    publisher: ConfirmedPublisher,
    store: Store,
    clock: FakeClock,
) -> FlaskClient:
    """An intake keeping mailboxes the shortest retention (a day): its directory (14 days) outlives it."""
    settings = make_settings(mailbox_retention=86_400)
    return create_app(settings, publisher=publisher, store=store, clock=clock).test_client()


def test_an_expired_mailbox_is_empty_and_swept(
    short_client: FlaskClient,
    store: Store,
    clock: FakeClock,
    partners: dict[str, PrivateKey],
    requester: Requester,
) -> None:
    client = short_client
    write(client, requester, message(partners, requester))
    clock.advance(86_400 - 60)
    thread = fetch(client, requester.mailbox_id, requester.access_secret).get_json()
    assert len(thread["messages"]) == 1
    clock.advance(120)
    assert fetch(client, requester.mailbox_id, requester.access_secret).get_json()["messages"] == []
    # Swept by the intake itself (any request, at most once a minute), rows and all.
    with store.begin() as connection:
        row = connection.execute(
            select(mailboxes.c.mailbox_id).where(mailboxes.c.mailbox_id == requester.mailbox_id)
        ).first()
    assert row is None
    # A partner's write with another hash makes it anew, empty of the old.
    assert (
        write(client, requester, message(partners, requester, "New."), access=bytes(32)).status_code
        == 201
    )
    assert fetch(client, requester.mailbox_id, requester.access_secret).get_json()["messages"] == []


@pytest.fixture
def away_client(settings: IntakeSettings, publisher: ConfirmedPublisher) -> Iterator[FlaskClient]:
    away = Store(StoreSettings(url="postgresql://postgres@127.0.0.1:1/haven", timeout=1))
    try:
        yield create_app(settings, publisher=publisher, store=away, clock=FakeClock()).test_client()
    finally:
        away.close()


def test_a_store_outage_answers_503(
    away_client: FlaskClient, partners: dict[str, PrivateKey], requester: Requester
) -> None:
    response = write(away_client, requester, message(partners, requester))
    assert_error(response, 503, "unavailable", None)
    assert response.headers["Retry-After"] == "30"
    body = access_body(away_client, "fetch", requester.mailbox_id, requester.access_secret)
    assert_error(paid(away_client, "fetch", body), 503, "unavailable", None)
    # Not spent: the same solution is tried again once the store is back.
    assert_error(paid(away_client, "fetch", body), 503, "unavailable", None)


def test_nothing_of_a_mailbox_reaches_a_log_or_a_metric(
    app: Flask,
    client: FlaskClient,
    partners: dict[str, PrivateKey],
    requester: Requester,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    wire = message(partners, requester)
    write(client, requester, wire)
    write(client, requester, wire)
    write(client, requester, message(partners, requester), access=secrets.token_bytes(32))
    fetch(client, requester.mailbox_id, requester.access_secret)
    delete(client, requester.mailbox_id, requester.access_secret)
    write(client, requester, message(partners, requester))
    metrics = ops_app(app).test_client().get("/metrics").get_data(as_text=True)
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in caplog.records)
    secrets_seen: list[Callable[[bytes], str]] = [b64, bytes.hex, lambda b: b.hex().upper()]
    for value in (requester.mailbox_id, requester.access_secret, requester.access_hash):
        for spelled in secrets_seen:
            assert spelled(value) not in logged
            assert spelled(value) not in metrics
    assert digest(wire.sealed) not in logged + metrics
    for outcome in ("stored", "already", "conflict", "gone"):
        assert f'haven_intake_mailbox_writes_total{{outcome="{outcome}"}} 1.0' in metrics
