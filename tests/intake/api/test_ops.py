"""Liveness, readiness, metrics; unknown paths and methods; the JSON shape of every error."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pika
import pika.exceptions
import pytest
from flask.testing import FlaskClient
from pika.adapters.blocking_connection import BlockingChannel

from haven.broker import INTAKE_QUEUE, BrokerSettings, ConfirmedPublisher
from haven.envelope import PrivateKey
from haven.store import Store, StoreSettings
from intake import IntakeSettings, create_app
from intake.app import ops_app
from intake.guards.pow import CHALLENGE_HEADER
from tests.intake.conftest import ops_of, post_submission, sealed, submission

pytestmark = pytest.mark.broker


def test_healthz_and_readyz(ops_client: FlaskClient) -> None:
    assert ops_client.get("/healthz").get_json() == {"status": "alive"}
    assert ops_client.get("/readyz").get_json() == {"status": "ready"}


OPS_PATHS = ("/healthz", "/readyz", "/metrics")


@pytest.mark.parametrize("path", OPS_PATHS)
def test_public_app_answers_404_for_the_operators_endpoints(
    client: FlaskClient, ops_client: FlaskClient, path: str
) -> None:
    """An onion service publishes the whole port: the paths must not exist there at all."""
    for method in (client.get, client.head, client.post):
        response = method(path)
        assert response.status_code == 404, (method, path)
        assert b"haven_intake" not in response.get_data()
    assert ops_client.get(path).status_code == 200


def test_readyz_without_a_broker(settings: IntakeSettings) -> None:
    away = BrokerSettings(urls=("amqp://guest:guest@127.0.0.1:1/%2F",), connect_timeout=0.5)
    publisher = ConfirmedPublisher(away)
    try:
        app = create_app(replace(settings, broker=away), publisher=publisher)
        response = ops_app(app).test_client().get("/readyz")
        assert response.status_code == 503
        assert response.get_json()["error"]["code"] == "not_ready"
    finally:
        publisher.close()


def test_readyz_waits_for_provision_and_never_declares(
    settings: IntakeSettings, fresh_broker_url: str, store: Store
) -> None:
    """The intake's broker user may not configure: it checks the topology passively, never makes it."""
    publisher = ConfirmedPublisher(BrokerSettings(urls=(fresh_broker_url,)))
    try:
        app = create_app(
            replace(settings, broker=publisher.settings), publisher=publisher, store=store
        )
        assert ops_app(app).test_client().get("/readyz").status_code == 503
    finally:
        publisher.close()
    connection = pika.BlockingConnection(pika.URLParameters(fresh_broker_url))
    try:
        with pytest.raises(pika.exceptions.ChannelClosedByBroker) as caught:
            connection.channel().queue_declare(INTAKE_QUEUE, passive=True)
        assert caught.value.reply_code == 404
    finally:
        if connection.is_open:
            connection.close()


def test_readyz_reports_the_store(
    settings: IntakeSettings, publisher: ConfirmedPublisher, tmp_path: Path
) -> None:
    # No-JavaScript sends need the store: an instance that cannot reach it
    # says so, naming the store and nothing about the server.
    away = StoreSettings(url="postgresql://postgres@127.0.0.1:1/haven", timeout=1)
    store = Store(away)
    try:
        app = create_app(replace(settings, store=away), publisher=publisher, store=store)
        response = ops_app(app).test_client().get("/readyz")
        assert response.status_code == 503
        assert response.get_json()["error"] == {
            "code": "not_ready",
            "message": "the store is not reachable or not migrated",
        }
    finally:
        store.close()
    # A store that was away when the intake started is migrated once it answers.
    fresh = StoreSettings(url=f"sqlite:///{tmp_path / 'store.sqlite3'}")
    store = Store(fresh)
    try:
        assert not store.ready()
        app = create_app(replace(settings, store=fresh), publisher=publisher, store=store)
        assert ops_app(app).test_client().get("/readyz").get_json() == {"status": "ready"}
        assert store.ready()
    finally:
        store.close()


def test_unknown_path_and_method_are_json(client: FlaskClient) -> None:
    for response, status, code in [
        (client.get("/v1/nothing-here"), 404, "not_found"),
        # "/" is the requester's language page now (docs/web-form.md); the
        # API's own unknown paths stay JSON.
        (client.get("/v1"), 404, "not_found"),
        (client.get("/v1/requests"), 405, "method_not_allowed"),
        (client.put("/v1/challenge"), 405, "method_not_allowed"),
        (client.options("/v1/requests"), 405, "method_not_allowed"),
        (client.delete("/v1/challenge"), 405, "method_not_allowed"),
    ]:
        assert response.status_code == status
        assert response.mimetype == "application/json"
        assert response.get_json()["error"]["code"] == code
        assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
        assert "Set-Cookie" not in response.headers
    assert client.get("/v1/requests").headers["Allow"] == "POST"


def test_hsts_only_behind_tls(settings: IntakeSettings, publisher: ConfirmedPublisher) -> None:
    app = create_app(replace(settings, behind_tls=True), publisher=publisher)
    response = app.test_client().get("/v1/challenge")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_metrics_count_outcomes_and_categories(
    client: FlaskClient, channel: BlockingChannel, partners: dict[str, PrivateKey]
) -> None:
    body = submission(client, sealed(partners))
    assert post_submission(client, body).status_code == 202
    # Paid for (a fresh token in the header), so the body is read and refused.
    token = {CHALLENGE_HEADER: client.get("/v1/challenge").get_json()["token"]}
    client.post("/v1/requests", data="nope", content_type="application/json", headers=token)
    client.post("/v1/requests", json={"routing": {"category": "CANARY"}}, headers=token)
    client.get("/v1/CANARY-path")
    response = ops_of(client).get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert (
        'haven_intake_requests_total{category="desertion",endpoint="api.submit",outcome="accepted"} 1.0'
        in text
    )
    assert (
        'haven_intake_requests_total{category="none",endpoint="api.submit",outcome="invalid"} 2.0'
        in text
    )
    assert 'endpoint="unmatched",outcome="not_found"' in text
    assert (
        'haven_intake_request_duration_seconds_count{endpoint="api.submit",outcome="accepted"} 1.0'
        in text
    )
    assert "CANARY" not in text
    assert "haven_intake_directory_version 3.0" in text


def test_two_apps_keep_their_own_metrics(
    settings: IntakeSettings, publisher: ConfirmedPublisher
) -> None:
    first = create_app(settings, publisher=publisher).test_client()
    second = create_app(settings, publisher=publisher).test_client()
    first.get("/v1/challenge")
    assert 'endpoint="api.challenge"' in ops_of(first).get("/metrics").get_data(as_text=True)
    assert 'endpoint="api.challenge"' not in ops_of(second).get("/metrics").get_data(as_text=True)


def test_error_bodies_have_one_shape(client: FlaskClient) -> None:
    response = client.post(
        "/v1/requests", data=json.dumps({"x": 1}), content_type="application/json"
    )
    error = response.get_json()["error"]
    assert set(error) <= {"code", "message", "field", "details"}
