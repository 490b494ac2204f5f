"""POST /v1/requests against the real broker: accepted, duplicate, and every refusal."""

from __future__ import annotations

import base64
import hashlib
import io
import itertools
import json
from typing import Any

import pytest
from flask.testing import FlaskClient
from pika.adapters.blocking_connection import BlockingChannel
from werkzeug.test import TestResponse

from haven.envelope import Labels, PrivateKey, seal
from intake.guards.pow import CHALLENGE_HEADER
from intake.settings import MAX_BODY_BYTES
from tests.intake.conftest import (
    ROUTING,
    TEST_BITS,
    FakeClock,
    drain,
    sealed,
    submission,
    work,
)

pytestmark = pytest.mark.broker

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def token_for(client: FlaskClient, body: Any) -> str:
    """The Haven-Pow-Challenge a client sends: the body's own token, or (for a body that has
    none, to test what comes after the header) a fresh valid one."""
    document = body
    if isinstance(body, bytes | str):
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            document = None
    try:
        token = document["pow"]["challenge"]
    except (KeyError, TypeError, IndexError):
        token = None
    if isinstance(token, str) and len(token) == 88 and token.isprintable():
        return token
    return str(client.get("/v1/challenge").get_json()["token"])


def post(client: FlaskClient, body: Any, **kwargs: Any) -> TestResponse:
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    kwargs.setdefault("content_type", "application/json")
    kwargs["headers"] = {CHALLENGE_HEADER: token_for(client, body), **kwargs.get("headers", {})}
    return client.post("/v1/requests", data=data, **kwargs)


def assert_error(response: TestResponse, status: int, code: str, field: str | None) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert error.get("field") == field
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value


def test_accepted_request_is_in_the_queue_byte_identical(
    client: FlaskClient, channel: BlockingChannel, partners: dict[str, PrivateKey]
) -> None:
    envelope = sealed(partners)
    response = post(client, submission(client, envelope))
    assert response.status_code == 202, response.get_json()
    request_id = hashlib.sha256(envelope).hexdigest()
    assert response.get_json() == {"id": request_id, "status": "queued"}
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    assert "Strict-Transport-Security" not in response.headers
    ((properties, body),) = drain(channel)
    assert body == envelope
    assert properties.message_id == request_id
    assert properties.delivery_mode == 2


def test_duplicate_submission_answers_the_same_id(
    client: FlaskClient, channel: BlockingChannel, partners: dict[str, PrivateKey]
) -> None:
    envelope = sealed(partners)
    body = submission(client, envelope)
    first = post(client, body)
    # A replay of the very same body, and a retry after a lost answer (a new
    # challenge, the same envelope).
    second = post(client, body)
    third = post(client, submission(client, envelope))
    assert first.status_code == second.status_code == third.status_code == 202
    assert first.get_json() == second.get_json() == third.get_json()
    # Queued once: within the challenge lifetime a repeat is not published again.
    queued = drain(channel)
    assert [p.message_id for p, _ in queued] == [first.get_json()["id"]]
    assert queued[0][1] == envelope


def test_every_label_of_every_category_is_accepted(
    client: FlaskClient, channel: BlockingChannel, partners: dict[str, PrivateKey]
) -> None:
    for routing in (
        {"category": "evacuation", "region": "ua-occupied", "language": "uk", "urgency": "normal"},
        {"category": "asylum", "region": "abroad-eu", "language": "en", "urgency": "urgent"},
    ):
        response = post(client, submission(client, sealed(partners, routing), routing))
        assert response.status_code == 202
    assert len(drain(channel)) == 2


@pytest.fixture
def valid(client: FlaskClient, partners: dict[str, PrivateKey]) -> dict[str, Any]:
    return submission(client, sealed(partners))


def test_malformed_json(client: FlaskClient) -> None:
    for body in (b'{"routing": ', b"\xff\xfe{}", b'{"a": NaN}', b"[" * 100_000, b""):
        assert_error(post(client, body), 400, "malformed_json", None)


def test_duplicate_keys_are_malformed(client: FlaskClient, valid: dict[str, Any]) -> None:
    text = json.dumps(valid)
    twice = text[:-1] + ', "routing": ' + json.dumps(valid["routing"]) + "}"
    assert_error(post(client, twice), 400, "malformed_json", None)


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin-1", None],
)
def test_wrong_content_type(
    client: FlaskClient, valid: dict[str, Any], content_type: str | None
) -> None:
    assert_error(
        post(client, valid, content_type=content_type), 415, "unsupported_media_type", None
    )


class Unread(io.BytesIO):
    """A body that fails the test if the intake reads any of it."""

    def read(self, *_: Any) -> bytes:
        raise AssertionError("the body was read")

    readline = read


def test_body_over_the_limit_is_refused_before_reading(client: FlaskClient) -> None:
    response = client.post(
        "/v1/requests",
        input_stream=Unread(),
        content_type="application/json",
        headers={CHALLENGE_HEADER: token_for(client, None)},
        environ_overrides={"CONTENT_LENGTH": str(MAX_BODY_BYTES + 1)},
    )
    assert_error(response, 413, "too_large", None)
    # Not read, so not drained either: the connection ends with the answer.
    assert response.headers["Connection"] == "close"


def forged(token: str) -> str:
    raw = bytearray(base64.urlsafe_b64decode(token))
    raw[17] = 0  # the difficulty byte: a forger asks for an easy challenge
    return base64.urlsafe_b64encode(bytes(raw)).decode()


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "pow_invalid"),
        ("", "pow_invalid"),
        ("not a token", "pow_invalid"),
        ("forged", "pow_invalid"),
        ("expired", "pow_expired"),
    ],
)
@pytest.mark.parametrize("length", [MAX_BODY_BYTES + 1, 12, None])
def test_unpaid_request_is_refused_before_its_body_is_read(
    client: FlaskClient, clock: FakeClock, header: str | None, code: str, length: int | None
) -> None:
    """An unpaid submission costs one HMAC: no byte of its body is read, so no 413, 415 or 400."""
    headers = {}
    if header is not None:
        token = str(client.get("/v1/challenge").get_json()["token"])
        headers[CHALLENGE_HEADER] = {"forged": forged(token), "expired": token}.get(header, header)
    if header == "expired":
        clock.advance(301)
    overrides: dict[str, Any] = {}
    if length is None:
        headers["Transfer-Encoding"] = "chunked"
        overrides["wsgi.input_terminated"] = True
    else:
        overrides["CONTENT_LENGTH"] = str(length)
    response = client.post(
        "/v1/requests",
        input_stream=Unread(),
        # Not even the media type is looked at.
        content_type="text/plain",
        headers=headers,
        environ_overrides=overrides,
    )
    assert_error(response, 403, code, CHALLENGE_HEADER)
    assert response.headers["Connection"] == "close"


def test_body_challenge_must_be_the_header_one(
    client: FlaskClient, valid: dict[str, Any], channel: BlockingChannel
) -> None:
    other = str(client.get("/v1/challenge").get_json()["token"])
    response = post(client, valid, headers={CHALLENGE_HEADER: other})
    assert_error(response, 403, "pow_invalid", "pow.challenge")
    # The body was read: the connection may be kept.
    assert "Connection" not in response.headers
    assert drain(channel) == []


def test_chunked_body_over_the_limit(client: FlaskClient) -> None:
    big = b'{"envelope": "' + b"A" * (MAX_BODY_BYTES + 10) + b'"}'
    response = client.post(
        "/v1/requests",
        input_stream=io.BytesIO(big),
        content_type="application/json",
        headers={"Transfer-Encoding": "chunked", CHALLENGE_HEADER: token_for(client, None)},
        # What gunicorn sets for a chunked body: the server delimits it.
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert_error(response, 413, "too_large", None)


def test_largest_envelope_fits_the_body_limit(client: FlaskClient) -> None:
    # A syntactically maximal submission is not refused for its size.
    body = {
        "routing": ROUTING,
        "envelope": base64.b64encode(b"\0" * 104122).decode(),
        "pow": {"challenge": "A" * 88, "nonce": "f" * 32},
    }
    response = post(
        client, json.dumps(body, indent=4), headers={CHALLENGE_HEADER: token_for(client, None)}
    )
    # Read whole and parsed: refused only because its token is not the header's.
    assert_error(response, 403, "pow_invalid", "pow.challenge")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda b: b.update(extra="x"), "extra"),
        (lambda b: b["routing"].update(extra="x"), "routing.extra"),
        (lambda b: b["pow"].update(extra="x"), "pow.extra"),
        (lambda b: b.pop("routing"), "routing"),
        (lambda b: b.pop("envelope"), "envelope"),
        (lambda b: b["routing"].pop("urgency"), "routing.urgency"),
        (lambda b: b["pow"].pop("nonce"), "pow.nonce"),
        (lambda b: b["routing"].update(region="moscow"), "routing.region"),
        (lambda b: b["routing"].update(category="Desertion"), "routing.category"),
        (lambda b: b["routing"].update(language=1), "routing.language"),
        (lambda b: b.update(routing=["desertion"]), "routing"),
        (lambda b: b.update(envelope="not base64!"), "envelope"),
        (lambda b: b.update(envelope=b["envelope"][:-2]), "envelope"),
        (
            lambda b: b.update(envelope=b["envelope"].replace("+", "-").replace("/", "_")),
            "envelope",
        ),
        (lambda b: b.update(envelope=None), "envelope"),
        (lambda b: b["pow"].update(nonce="12 34"), "pow.nonce"),
        (lambda b: b["pow"].update(nonce="1" * 33), "pow.nonce"),
        (lambda b: b["pow"].update(challenge="short"), "pow.challenge"),
        # A trailing newline is not part of any valid value (re.match with `$` let it through).
        (lambda b: b["pow"].update(nonce=b["pow"]["nonce"] + "\n"), "pow.nonce"),
        (lambda b: b["pow"].update(challenge=b["pow"]["challenge"] + "\n"), "pow.challenge"),
    ],
)
def test_schema_errors_name_the_field(
    client: FlaskClient, valid: dict[str, Any], change: Any, field: str
) -> None:
    change(valid)
    assert_error(post(client, valid), 422, "invalid", field)


def test_missing_pow_is_a_schema_error(client: FlaskClient, valid: dict[str, Any]) -> None:
    del valid["pow"]
    assert_error(post(client, valid), 422, "invalid", "pow")


def test_not_an_object(client: FlaskClient) -> None:
    assert_error(post(client, [1, 2]), 422, "invalid", "document")


def test_several_errors_are_all_named(client: FlaskClient) -> None:
    response = post(client, {"routing": {}, "pow": {}})
    assert_error(response, 422, "invalid", "routing.category")
    named = {d["field"] for d in response.get_json()["error"]["details"]}
    assert {"routing.category", "envelope"} <= named


def test_envelope_that_does_not_parse(client: FlaskClient, partners: dict[str, PrivateKey]) -> None:
    for envelope, rule in [
        (b"HVN\x01" + bytes(6000), "label"),
        (b"XYZ\x01" + bytes(6000), "not a Haven envelope"),
        (b"HVN\x01" + bytes(10), "truncated"),
        (sealed(partners)[:-1], ""),
    ]:
        response = post(client, submission(client, envelope))
        assert_error(response, 422, "envelope_invalid", "envelope")
        assert rule in response.get_json()["error"]["message"]


def test_unsupported_version_is_named_without_its_value(
    client: FlaskClient, partners: dict[str, PrivateKey]
) -> None:
    envelope = bytearray(sealed(partners))
    envelope[3] = 0x7F
    response = post(client, submission(client, bytes(envelope)))
    assert_error(response, 422, "envelope_invalid", "envelope")
    # The submitted byte (127) is the requester's, and is not repeated.
    assert response.get_json()["error"]["message"] == "envelope: unsupported envelope version"


def test_a_nonce_with_a_trailing_newline_is_refused_even_when_it_solves(
    client: FlaskClient, channel: BlockingChannel, partners: dict[str, PrivateKey]
) -> None:
    envelope = sealed(partners)
    body = submission(client, envelope)
    token = body["pow"]["challenge"]
    # "1234\n" hashed as it is sent: a real solution, in a second spelling.
    body["pow"]["nonce"] = next(
        f"{n}\n" for n in itertools.count() if work(token, envelope, f"{n}\n") >= TEST_BITS
    )
    assert_error(post(client, body), 422, "invalid", "pow.nonce")
    assert drain(channel) == []


def test_server_sealed_envelope_from_a_device_is_refused(
    client: FlaskClient, partners: dict[str, PrivateKey]
) -> None:
    envelope = sealed(partners, server_sealed=True)
    assert_error(post(client, submission(client, envelope)), 422, "envelope_invalid", "envelope")


@pytest.mark.parametrize("label", ["category", "region", "language", "urgency"])
def test_routing_must_equal_the_envelope_labels(
    client: FlaskClient, channel: BlockingChannel, partners: dict[str, PrivateKey], label: str
) -> None:
    other = {"category": "legal_aid", "region": "by", "language": "en", "urgency": "normal"}
    body = submission(client, sealed(partners))
    body["routing"][label] = other[label]
    assert_error(post(client, body), 422, "routing_mismatch", f"routing.{label}")
    assert drain(channel) == []


def test_forged_challenge(client: FlaskClient, valid: dict[str, Any]) -> None:
    valid["pow"]["challenge"] = forged(valid["pow"]["challenge"])
    assert_error(post(client, valid), 403, "pow_invalid", CHALLENGE_HEADER)


def test_challenge_from_another_intake(
    client: FlaskClient, valid: dict[str, Any], partners: dict[str, PrivateKey]
) -> None:
    valid["pow"]["challenge"] = base64.urlsafe_b64encode(bytes(66)).decode()
    assert_error(post(client, valid), 403, "pow_invalid", CHALLENGE_HEADER)


def test_expired_challenge(client: FlaskClient, valid: dict[str, Any], clock: FakeClock) -> None:
    clock.advance(301)
    assert_error(post(client, valid), 403, "pow_expired", CHALLENGE_HEADER)


def test_challenge_just_before_expiry_is_accepted(
    client: FlaskClient, valid: dict[str, Any], clock: FakeClock, channel: BlockingChannel
) -> None:
    clock.advance(299)
    assert post(client, valid).status_code == 202


def test_insufficient_work(client: FlaskClient, partners: dict[str, PrivateKey]) -> None:
    envelope = sealed(partners)
    body = submission(client, envelope)
    token = body["pow"]["challenge"]
    body["pow"]["nonce"] = next(
        str(n) for n in itertools.count() if work(token, envelope, str(n)) < TEST_BITS
    )
    assert_error(post(client, body), 403, "pow_insufficient", "pow.nonce")


def test_work_done_for_another_envelope(
    client: FlaskClient, channel: BlockingChannel, partners: dict[str, PrivateKey]
) -> None:
    paid = sealed(partners)
    body = submission(client, paid)
    token, nonce = body["pow"]["challenge"], body["pow"]["nonce"]
    # At 8 bits one envelope in 256 would happen to fit the same nonce: take one that does not.
    other = next(
        e for e in (sealed(partners) for _ in range(50)) if work(token, e, nonce) < TEST_BITS
    )
    body["envelope"] = base64.b64encode(other).decode()
    assert_error(post(client, body), 403, "pow_insufficient", "pow.nonce")
    assert drain(channel) == []


def test_no_input_gives_a_server_error(client: FlaskClient, valid: dict[str, Any]) -> None:
    bodies: list[Any] = [
        None,
        0,
        "text",
        {"routing": None, "envelope": 1, "pow": "x"},
        {"routing": {"category": {"nested": []}}, "envelope": [], "pow": {"nonce": {}}},
        {**valid, "envelope": "=" * 8},
        {**valid, "envelope": "A" * 200_000},
        {**valid, "pow": {"challenge": "-" * 88, "nonce": "0"}},
        {"\ud800": 1},
    ]
    for body in bodies:
        response = post(client, json.dumps(body))
        assert response.status_code < 500, body
        assert response.get_json()["error"]["code"]


def test_envelope_sealed_outside_the_directory_is_refused(
    client: FlaskClient, channel: BlockingChannel, partners: dict[str, PrivateKey]
) -> None:
    # A fake bot's key (or a retired one) among the recipients: nobody who
    # may read it would ever get it, so it is refused, not queued.
    impostor = PrivateKey.generate()
    with_impostor = seal(
        b"x", Labels(**ROUTING), [partners["lawyers"].public_key, impostor.public_key]
    )
    response = post(client, submission(client, with_impostor))
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert (error["code"], error["field"]) == ("envelope_invalid", "envelope")
    assert "not in the current partner directory" in error["message"]
    # Sealed only to a partner who does not serve the category (in the test
    # directory "evacuators" serve desertion and legal aid, not evacuation).
    evacuation = {**ROUTING, "category": "evacuation"}
    wrong_partner = seal(b"x", Labels(**evacuation), [partners["evacuators"].public_key])
    response = post(client, submission(client, wrong_partner, evacuation))
    assert response.status_code == 422
    assert "no partner that serves this category" in response.get_json()["error"]["message"]
    assert drain(channel) == []
