"""The OpenAPI document: generated, complete, and true of every answer (schemathesis)."""

from __future__ import annotations

import hypothesis
import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from pika.adapters.blocking_connection import BlockingChannel
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from haven.broker import ConfirmedPublisher
from intake import IntakeSettings, create_app
from schemas.http import AcceptedSchema, ChallengeSchema, PowSolutionSchema
from tests.intake.conftest import FakeClock

pytestmark = pytest.mark.broker

EXPECTED_OPERATIONS = {
    ("/v1/directory", "get"),
    ("/v1/site-manifest", "get"),
    ("/v1/challenge", "get"),
    ("/v1/requests", "post"),
    ("/v1/openapi.json", "get"),
    ("/v1/mailbox/messages", "post"),
    ("/v1/mailbox/fetch", "post"),
    ("/v1/mailbox/delete", "post"),
    ("/v1/follow-ups", "post"),
}
# On the operators' listener only: never in the public document either.
OPS_PATHS = {"/healthz", "/readyz", "/metrics"}


def test_document_lists_every_route(app: Flask, client: FlaskClient) -> None:
    response = client.get("/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.")
    operations = {(path, method) for path, item in document["paths"].items() for method in item}
    routes = {
        (rule.rule, method.lower())
        for rule in app.url_map.iter_rules()
        for method in rule.methods or ()
        # The requester's HTML pages are not part of the API (docs/web-form.md).
        if method not in {"HEAD", "OPTIONS"} and not rule.endpoint.startswith("pages.")
    }
    assert operations == routes == EXPECTED_OPERATIONS
    assert not OPS_PATHS & set(document["paths"])
    for path, method in operations:
        operation = document["paths"][path][method]
        assert operation["summary"]
        assert {"404", "405", "500"} <= set(operation["responses"])
    submit = document["paths"]["/v1/requests"]["post"]["responses"]
    assert {"202", "400", "403", "413", "415", "422", "503"} <= set(submit)
    assert "Retry-After" in submit["503"]["headers"]
    schemas = document["components"]["schemas"]
    assert {"Submission", "Routing", "PowSolution", "Challenge", "Accepted", "Error"} <= set(
        schemas
    )
    for path in ("/v1/mailbox/fetch", "/v1/mailbox/delete", "/v1/follow-ups"):
        paid = document["paths"][path]["post"]
        assert {"200" if "mailbox" in path else "202", "403", "422", "503"} <= set(
            paid["responses"]
        )
        assert [p["name"] for p in paid["parameters"]] == ["Haven-Pow-Challenge"]
    write = document["paths"]["/v1/mailbox/messages"]["post"]["responses"]
    assert {"200", "201", "403", "409", "410", "422", "503"} <= set(write)
    assert {"WireMessage", "MailboxWrite", "MailboxAccess", "FollowUp", "MailboxFetched"} <= set(
        schemas
    )
    # The routing enumeration comes from schemas, not from a copy.
    assert "ua-occupied" in schemas["Routing"]["properties"]["region"]["enum"]


def test_document_is_a_valid_openapi_document(app: Flask) -> None:
    # Loading validates the document against the OpenAPI 3.0 meta-schema.
    schema = schemathesis.openapi.from_wsgi("/v1/openapi.json", app)
    assert {op.path for op in (r.ok() for r in schema.get_all_operations())} >= {"/v1/requests"}


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES = 30


def test_every_answer_matches_the_document(
    settings: IntakeSettings, publisher: ConfirmedPublisher, channel: BlockingChannel
) -> None:
    """schemathesis: generated requests, valid and invalid, to every operation; derandomized.

    (Its pytest loader `from_fixture` does not run under pytest 9, so the
    strategies are driven with Hypothesis directly.)
    """
    app = create_app(settings, publisher=publisher, clock=FakeClock())
    schema = schemathesis.openapi.from_wsgi("/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    # schemathesis leaves out the operation that serves the document itself.
    assert {(op.path, op.method.lower()) for op in operations} == EXPECTED_OPERATIONS - {
        ("/v1/openapi.json", "get")
    }
    for operation in operations:
        modes = [GenerationMode.POSITIVE]
        if operation.body or operation.headers:
            modes.append(GenerationMode.NEGATIVE)
        for mode in modes:

            @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
            @hypothesis.settings(
                max_examples=EXAMPLES,
                derandomize=True,
                database=None,
                deadline=None,
                suppress_health_check=list(hypothesis.HealthCheck),
                phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
            )
            def check(case: schemathesis.Case) -> None:
                case.call_and_validate(checks=CHECKS)

            check()


def test_patterns_are_whole_value_in_python_and_portable_in_the_document(
    client: FlaskClient,
) -> None:
    schemas = client.get("/v1/openapi.json").get_json()["components"]["schemas"]
    # ECMA-262 (JSON Schema) reads `$` as the end of the input and has no `\Z`.
    assert schemas["PowSolution"]["properties"]["nonce"]["pattern"] == "^[0-9a-f]{1,32}$"
    assert "\\Z" not in client.get("/v1/openapi.json").get_data(as_text=True)
    # Python applies the same pattern to the whole value: no trailing newline.
    token = "A" * 88
    assert PowSolutionSchema().validate({"challenge": token, "nonce": "1234"}) == {}
    assert set(PowSolutionSchema().validate({"challenge": token + "\n", "nonce": "1234\n"})) == {
        "challenge",
        "nonce",
    }
    assert "id" in AcceptedSchema().validate({"id": "0" * 64 + "\n", "status": "queued"})
    challenge = {"token": token + "\n", "difficulty": 8, "expires_at": 0, "algorithm": ""}
    assert "token" in ChallengeSchema().validate(challenge)
