"""POST /v1/follow-ups against the real broker: published like a submission, to one partner's keys only."""

from __future__ import annotations

import base64
import secrets
from typing import Any

import pytest
from flask.testing import FlaskClient
from pika.adapters.blocking_connection import BlockingChannel
from werkzeug.test import TestResponse

from haven.envelope import PrivateKey, PublicKey, digest, seal
from haven.replies import FollowUp, follow_up_labels, seal_follow_up
from intake.guards.pow import CHALLENGE_HEADER
from tests.intake.conftest import ROUTING, drain, sealed, solve, submission

pytestmark = pytest.mark.broker


def follow_up_envelope(recipients: list[PublicKey], partner: str = "lawyers") -> bytes:
    note = FollowUp(
        mailbox_id=secrets.token_bytes(32),
        reply_key=PrivateKey.generate().public_key.to_bytes(),
        text="Спасибо. Вот ответ на ваш вопрос.",
    )
    return seal_follow_up(note, partner, "ru", recipients)


def routing_for(partner: str = "lawyers") -> dict[str, str]:
    return {"category": "follow_up", "region": partner, "language": "ru", "urgency": "normal"}


def body_for(client: FlaskClient, envelope: bytes, routing: dict[str, str]) -> dict[str, Any]:
    challenge = client.get("/v1/challenge").get_json()
    return {
        "routing": routing,
        "envelope": base64.b64encode(envelope).decode(),
        "pow": {
            "challenge": challenge["token"],
            "nonce": solve(challenge["token"], envelope, challenge["difficulty"]),
        },
    }


def post(client: FlaskClient, body: dict[str, Any], *, header: bool = True) -> TestResponse:
    headers = {CHALLENGE_HEADER: body["pow"]["challenge"]} if header else {}
    return client.post("/v1/follow-ups", json=body, headers=headers)


def assert_error(response: TestResponse, status: int, code: str, field: str | None) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert (error["code"], error.get("field")) == (code, field)
    assert error["message"]


def test_a_follow_up_to_a_partner_is_published_like_a_request(
    client: FlaskClient, channel: BlockingChannel, partners: dict[str, PrivateKey]
) -> None:
    envelope = follow_up_envelope([partners["lawyers"].public_key])
    body = body_for(client, envelope, routing_for())
    response = post(client, body)
    assert response.status_code == 202, response.get_json()
    assert response.get_json() == {"id": digest(envelope), "status": "queued"}
    ((properties, published),) = drain(channel)
    assert published == envelope
    assert properties.message_id == digest(envelope)
    assert properties.delivery_mode == 2
    # A replay within the challenge's lifetime is answered alike, not published again.
    assert post(client, body).get_json() == response.get_json()
    assert drain(channel) == []


def test_sealed_to_another_partner_s_keys_too_or_to_too_few_is_refused(
    client: FlaskClient, channel: BlockingChannel, partners: dict[str, PrivateKey]
) -> None:
    for recipients in (
        [partners["lawyers"].public_key, partners["evacuators"].public_key],
        [partners["evacuators"].public_key],
        [partners["lawyers"].public_key, PrivateKey.generate().public_key],
    ):
        body = body_for(client, follow_up_envelope(recipients), routing_for())
        assert_error(post(client, body), 422, "envelope_invalid", "envelope")
    assert drain(channel) == []


def test_a_partner_not_in_the_directory_is_refused(
    client: FlaskClient, channel: BlockingChannel, partners: dict[str, PrivateKey]
) -> None:
    envelope = follow_up_envelope([partners["lawyers"].public_key], partner="nobody")
    body = body_for(client, envelope, routing_for("nobody"))
    assert_error(post(client, body), 422, "partner_unknown", "routing.region")
    assert drain(channel) == []


def test_routing_must_be_a_follow_up_s_and_equal_the_labels(
    client: FlaskClient, channel: BlockingChannel, partners: dict[str, PrivateKey]
) -> None:
    envelope = follow_up_envelope([partners["lawyers"].public_key])
    # Labels say lawyers; the routing says evacuators: the worker would misroute it.
    body = body_for(client, envelope, routing_for("evacuators"))
    assert_error(post(client, body), 422, "routing_mismatch", "routing.region")
    for change, field in (
        ({"category": "desertion"}, "routing.category"),
        ({"urgency": "urgent"}, "routing.urgency"),
        ({"region": "Lawyers!"}, "routing.region"),
        ({"language": "de"}, "routing.language"),
    ):
        body = body_for(client, envelope, {**routing_for(), **change})
        assert_error(post(client, body), 422, "invalid", field)
    # A request's envelope is not a follow-up, whatever its routing says.
    request = sealed(partners)
    body = body_for(client, request, {**routing_for()})
    assert_error(post(client, body), 422, "routing_mismatch", "routing.category")
    # And a follow-up is no request: /v1/requests refuses its routing.
    body = body_for(client, envelope, routing_for())
    response = client.post(
        "/v1/requests", json=body, headers={CHALLENGE_HEADER: body["pow"]["challenge"]}
    )
    assert_error(response, 422, "invalid", "routing.category")
    assert drain(channel) == []


def test_proof_of_work_missing_or_wrong_is_refused(
    client: FlaskClient, channel: BlockingChannel, partners: dict[str, PrivateKey]
) -> None:
    envelope = follow_up_envelope([partners["lawyers"].public_key])
    body = body_for(client, envelope, routing_for())
    missing = post(client, body, header=False)
    assert_error(missing, 403, "pow_invalid", CHALLENGE_HEADER)
    assert missing.headers["Connection"] == "close"
    # Work done for another envelope.
    other = submission(client, sealed(partners), ROUTING)
    body["pow"] = other["pow"]
    assert_error(post(client, body), 403, "pow_insufficient", "pow.nonce")
    assert drain(channel) == []


def test_server_sealed_or_unparsable_envelopes_are_refused(
    client: FlaskClient, partners: dict[str, PrivateKey]
) -> None:
    note = FollowUp(
        mailbox_id=bytes(32), reply_key=PrivateKey.generate().public_key.to_bytes(), text="x"
    )
    server = seal(
        note.to_plaintext(),
        follow_up_labels("lawyers", "ru"),
        [partners["lawyers"].public_key],
        server_sealed=True,
    )
    assert_error(
        post(client, body_for(client, server, routing_for())), 422, "envelope_invalid", "envelope"
    )
    junk = b"not an envelope at all"
    assert_error(
        post(client, body_for(client, junk, routing_for())), 422, "envelope_invalid", "envelope"
    )
