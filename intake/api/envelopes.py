"""What a submission and a follow-up share: the directory, the envelope's public checks, publishing once."""

from __future__ import annotations

from dataclasses import dataclass

from flask import g
from marshmallow import Schema

from haven.broker import BrokerUnavailable
from haven.envelope import EnvelopeFormatError, Header, Labels, digest, inspect
from intake.api.body import read_json
from intake.api.paid import admit_challenge, check_solution
from intake.api.submission import load_document
from intake.directory_file import DirectoryExpired, ServedDocument
from intake.errors import ApiError
from intake.state import IntakeState
from schemas.http import Submission

# How long a requester's device should wait when the directory has expired:
# the publisher has to sign a new one, which takes a person, not a retry.
DIRECTORY_RETRY_AFTER = 300
LABEL_NAMES = ("category", "region", "language", "urgency")


@dataclass(frozen=True)
class Sealed:
    """A device-sealed document that has paid and whose envelope's public checks pass."""

    submission: Submission
    request_id: str
    header: Header


def admit_sealed(state: IntakeState, schema: Schema) -> Sealed:
    """A submission or a follow-up, checked in this order; the first failure answers.

    The challenge token in its header (403, before the body is read), the
    body by `schema` (415, 413, 400, 422), the work over the envelope's
    digest (403), the envelope's structure (422), the routing equal to its
    labels (422). An unpaid flood is refused after one SHA-256 of its
    envelope and nothing else.
    """
    admitted = admit_challenge(state)
    submission: Submission = load_document(schema, read_json(state.settings.max_body_bytes))
    request_id = digest(submission.envelope)
    check_solution(state, admitted, submission.pow, bytes.fromhex(request_id))
    parsed = inspect_device_envelope(submission.envelope)
    check_routing(parsed.labels, submission.routing)
    return Sealed(submission, request_id, parsed)


def served_directory(state: IntakeState) -> ServedDocument:
    """The current directory, or 503 `directory_expired`."""
    try:
        return state.directory.current()
    except DirectoryExpired:
        raise ApiError(
            "directory_expired",
            "the partner directory has expired; try again later",
            retry_after=DIRECTORY_RETRY_AFTER,
        ) from None


def inspect_device_envelope(envelope: bytes) -> Header:
    """The envelope's public header, sealed on a device (not by a server); 422 otherwise."""
    try:
        parsed = inspect(envelope)
    except EnvelopeFormatError as exc:
        # Public structure only (docs/envelope-v1.md section 8): naming the
        # rule broken is no oracle, no key is involved.
        raise ApiError("envelope_invalid", f"envelope: {exc}", field="envelope") from None
    if parsed.server_sealed:
        # Only the intake's no-JavaScript fallback seals on the server; a
        # device claiming it would tell the partner its request was seen in clear.
        raise ApiError(
            "envelope_invalid", "envelope: the server-sealed flag is the intake's", field="envelope"
        )
    return parsed


def check_routing(labels: Labels, routing: object) -> None:
    """`routing` (any object with the four label attributes) equals the envelope's labels; 422 otherwise."""
    for name in LABEL_NAMES:
        # The envelope's labels are authenticated for the partner; the routing
        # the worker reads must be the same, or a request could be misrouted.
        if getattr(labels, name) != getattr(routing, name):
            raise ApiError(
                "routing_mismatch",
                f"routing.{name} differs from the envelope's {name} label",
                field=f"routing.{name}",
            )


def publish_once(state: IntakeState, envelope: bytes, request_id: str, *, category: str) -> None:
    """Publish to the intake exchange, unless this id was accepted within the replay window; 503 if the broker cannot confirm.

    A replay accepted within the challenge's lifetime: its one payment of
    work must not buy a second persistent message (queue depth and so
    everyone's difficulty, the broker's disk). The caller answers it as it
    answered the first, so a repeat is indistinguishable from an acceptance.
    """
    g.category = category
    if request_id in state.recent:
        return
    try:
        state.publisher.publish(envelope, message_id=request_id)
    except BrokerUnavailable as unavailable:
        state.metrics.broker_unavailable.labels(unavailable.reason).inc()
        raise ApiError(
            "unavailable",
            "the request could not be queued now; send the same envelope again later",
            retry_after=unavailable.retry_after,
        ) from None
    # Only after the confirm: a request the broker refused must be publishable again.
    state.recent.add(request_id)
    # Priced into the next challenges everywhere (intake.load).
    state.acceptances.accepted()
