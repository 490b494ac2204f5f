"""The requester-facing API under /v1: directory, challenge, submission, OpenAPI document."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request

from haven.directory import eligible_partners
from haven.envelope import Labels
from intake.api.envelopes import (
    admit_sealed,
    publish_once,
    served_directory,
)
from intake.api.openapi import (
    NO_STORE,
    PAID_PARAMETER,
    POW_REFUSED,
    RETRY_AFTER,
    UNREADABLE,
    header,
    json_body,
    operation,
)
from intake.errors import ApiError
from intake.guards.pow import ALGORITHM
from intake.state import intake_state
from schemas.directory import Directory
from schemas.http import (
    AcceptedSchema,
    ChallengeSchema,
    ErrorSchema,
    SignedDocumentSchema,
    SubmissionSchema,
)

api = Blueprint("api", __name__, url_prefix="/v1")

OPENAPI_KEY = "intake.openapi"


@api.get("/directory", provide_automatic_options=False)
@operation(
    {
        "tags": ["directory"],
        "parameters": [
            {
                "in": "header",
                "name": "If-None-Match",
                "required": False,
                "schema": {"type": "string", "maxLength": 1024},
            }
        ],
        "responses": {
            "200": json_body(
                SignedDocumentSchema,
                "The signed directory, byte for byte as the network's publisher signed it.",
                headers={
                    "ETag": header("Strong validator of this document."),
                    "Cache-Control": header(
                        "`no-store`: a cached copy on a phone shows it contacted the network."
                    ),
                },
            ),
            "304": {"description": "Unchanged since the ETag given in If-None-Match."},
            "503": json_body(
                ErrorSchema,
                "The directory on the server has expired (`directory_expired`).",
                headers=RETRY_AFTER,
            ),
        },
    }
)
def directory() -> Response:
    """The signed partner directory.

    Verify it against the pinned network key before sealing to any key in it
    (docs/directory.md). The intake verified it too, and never serves a
    directory that fails, has expired, or is older than the one it served before.
    """
    state = intake_state()
    served = served_directory(state)
    state.metrics.directory_version.set(served.seen.version)
    if request.if_none_match.contains(served.etag.strip('"')):
        response = Response(status=304)
    else:
        response = Response(served.document, mimetype="application/json")
    response.headers["ETag"] = served.etag
    # Never stored, not even by the requester's own browser: a searched phone
    # holding the directory shows its owner contacted the network (and a
    # shared proxy's copy would outlive a retired key). The ETag still lets a
    # client that kept a copy in memory for this session revalidate it.
    response.headers["Cache-Control"] = "no-store"
    return response


_SUBMISSION_SCHEMA = SubmissionSchema()

# The signed site manifest's document, as the OpenAPI document describes it.
_SITE_MANIFEST_DOCUMENT = {
    "type": "object",
    "required": ["format", "purpose", "payload", "signature"],
    "additionalProperties": False,
    "properties": {
        "format": {"type": "string", "enum": ["haven-signed-v1"]},
        "purpose": {"type": "string", "enum": ["site-manifest"]},
        "payload": {
            "type": "string",
            "format": "byte",
            "description": "The manifest, standard base64.",
        },
        "signature": {
            "type": "string",
            "format": "byte",
            "description": "Ed25519 by the pinned network key.",
        },
    },
}


@api.get("/site-manifest", provide_automatic_options=False)
@operation(
    {
        "tags": ["directory"],
        "responses": {
            "200": json_body(
                _SITE_MANIFEST_DOCUMENT,
                "The signed site manifest, byte for byte as the network's publisher signed it.",
                headers=NO_STORE,
            ),
        },
    }
)
def site_manifest() -> Response:
    """The signed site manifest.

    SHA-256 of every script and stylesheet the pages load, and each page's
    code-carrying parts and Content-Security-Policy, signed by the network
    key, so that anyone can check the code served here is the published
    code (`haven check-site`, docs/site-integrity.md). 404 when the
    operator has not installed one.
    """
    manifest = intake_state().site_manifest
    if manifest is None:
        raise ApiError("not_found", "this intake serves no site manifest")
    response = Response(manifest.current(), mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


@api.get("/challenge", provide_automatic_options=False)
@operation(
    {
        "tags": ["submission"],
        "responses": {
            "200": json_body(ChallengeSchema, "A fresh challenge.", headers=NO_STORE),
        },
    }
)
def challenge() -> Response:
    """A proof-of-work challenge.

    Stateless and authenticated by the intake (HMAC). Solve it for the
    envelope you are about to submit (docs/intake-api.md, "Proof of work").
    The difficulty rises with the rate of acceptances across the intake and
    with the number of requests waiting to be routed.
    """
    state = intake_state()
    difficulty = state.current_difficulty()
    state.metrics.pow_difficulty.set(difficulty)
    issued = state.pow.issue(difficulty)
    return jsonify(
        token=issued.token,
        difficulty=issued.difficulty,
        expires_at=issued.expires_at,
        algorithm=ALGORITHM,
    )


@api.post("/requests", provide_automatic_options=False)
@operation(
    {
        "tags": ["submission"],
        "parameters": [PAID_PARAMETER],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": SubmissionSchema}},
        },
        "responses": {
            "202": json_body(
                AcceptedSchema,
                "Queued: the broker has confirmed the request on a durable queue.",
                headers=NO_STORE,
            ),
            **UNREADABLE,
            "403": POW_REFUSED,
            "422": json_body(
                ErrorSchema,
                "The document breaks a rule (`invalid`, `envelope_invalid`, `routing_mismatch`); "
                "`field` names where.",
            ),
            "503": json_body(
                ErrorSchema,
                "The request could not be queued now (`unavailable`); send it again after Retry-After.",
                headers=RETRY_AFTER,
            ),
        },
    }
)
def submit() -> tuple[Response, int]:
    """Submit a sealed request.

    Checked in this order, and the first failure answers: the challenge
    token in the Haven-Pow-Challenge header (403, before the body is read),
    media type (415), size (413), JSON (400), fields (422), the body's
    `pow.challenge` equal to the header (403), the proof-of-work over the
    envelope (403), envelope structure (422), routing
    equal to the envelope's labels (422). Then the envelope is published; 202
    only after the broker's confirm. Submitting the same envelope again
    answers 202 with the same id; within a challenge lifetime of its
    acceptance it is not published again.
    """
    state = intake_state()
    sealed = admit_sealed(state, _SUBMISSION_SCHEMA)
    submission, request_id, parsed = sealed.submission, sealed.request_id, sealed.header
    _check_recipients(served_directory(state).directory, parsed.kids, parsed.labels)
    publish_once(state, submission.envelope, request_id, category=submission.routing.category)
    return jsonify(id=request_id, status="queued"), 202


def _check_recipients(directory: Directory, kids: tuple[bytes, ...], labels: Labels) -> None:
    """Sealed only to keys of the current directory, and to at least one partner who can act.

    A key outside the directory is a fake bot's or a retired one (perhaps
    compromised): queuing such a request would hand it to nobody who may
    read it. The device fetches the directory again and re-seals.
    """
    known = {key.kid for partner in directory.partners for key in partner.keys}
    if any(kid.hex() not in known for kid in kids):
        raise ApiError(
            "envelope_invalid",
            "envelope: sealed to a key that is not in the current partner directory; "
            "fetch the directory again",
            field="envelope",
        )
    eligible = {
        key.kid
        for partner in eligible_partners(directory, labels.category, labels.region)
        for key in partner.keys
    }
    if not eligible & {kid.hex() for kid in kids}:
        raise ApiError(
            "envelope_invalid",
            "envelope: sealed to no partner that serves this category",
            field="envelope",
        )


@api.get("/openapi.json", provide_automatic_options=False)
@operation(
    {
        "tags": ["meta"],
        "responses": {
            "200": {
                "description": "This document.",
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        },
    }
)
def openapi() -> Response:
    """The OpenAPI 3 document of this API."""
    return Response(current_app.extensions[OPENAPI_KEY], mimetype="application/json")
