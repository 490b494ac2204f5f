"""Operators' endpoints: liveness, readiness, metrics. Counts only; nothing about requesters."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from haven.store import Store, StoreUnavailable, migrate
from intake.api.openapi import json_body, operation
from intake.directory_file import DirectoryExpired
from intake.errors import ApiError
from intake.metrics import CONTENT_TYPE
from intake.state import intake_state
from schemas.http import ErrorSchema, StatusSchema

ops = Blueprint("ops", __name__)


@ops.get("/healthz", provide_automatic_options=False)
@operation(
    {"tags": ["operations"], "responses": {"200": json_body(StatusSchema, "The process is alive.")}}
)
def healthz() -> Response:
    """Liveness: the process answers."""
    return jsonify(status="alive")


@ops.get("/readyz", provide_automatic_options=False)
@operation(
    {
        "tags": ["operations"],
        "responses": {
            "200": json_body(StatusSchema, "Ready to accept requests."),
            "503": json_body(ErrorSchema, "Not ready (`not_ready`)."),
        },
    }
)
def readyz() -> Response:
    """Readiness: the broker answers, its topology is in place, the directory is current, the store answers."""
    state = intake_state()
    try:
        state.directory.current()
    except DirectoryExpired:
        raise ApiError("not_ready", "the partner directory has expired") from None
    if not state.publisher.ready():
        raise ApiError("not_ready", "the broker is not reachable or its queues are missing")
    if not state.store.ready() and not _migrated_now(state.store):
        raise ApiError("not_ready", "the store is not reachable or not migrated")
    return jsonify(status="ready")


def _migrated_now(store: Store) -> bool:
    """A store that was away when the intake started is migrated once it answers."""
    try:
        migrate(store)
    except StoreUnavailable:
        return False
    return store.ready()


@ops.get("/metrics", provide_automatic_options=False)
@operation(
    {
        "tags": ["operations"],
        "responses": {
            "200": {
                "description": "Prometheus text exposition: counts and latencies by outcome and category.",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            }
        },
    }
)
def metrics() -> Response:
    """Prometheus metrics of this process."""
    return Response(intake_state().metrics.exposition(), content_type=CONTENT_TYPE)
