"""The intake application factory."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import cast

from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from haven.broker import ConfirmedPublisher
from haven.store import Acceptances, Mailboxes, Store
from intake import headers
from intake.api.body import werkzeug_limit
from intake.api.openapi import build_openapi, openapi_bytes
from intake.api.ops import ops
from intake.api.replies import replies
from intake.api.views import OPENAPI_KEY, api
from intake.directory_file import DirectoryFile
from intake.errors import (
    from_http,
    from_unexpected,
    log_internal,
    outcome_of,
    register_error_handlers,
)
from intake.guards.pow import ProofOfWork
from intake.guards.replay import RecentRequests
from intake.load import AcceptanceRate
from intake.metrics import NO_CATEGORY, UNMATCHED, IntakeMetrics
from intake.pages import views as pages
from intake.settings import IntakeSettings
from intake.site_manifest_file import SiteManifestFile
from intake.state import EXTENSION, IntakeState, Publisher

API_TITLE = "Haven intake"
API_VERSION = "v1"

# Where create_app keeps the operators' app (see ops_app).
OPS_APP = "haven.intake.ops"

_SUCCESS_OUTCOMES = {201: "stored", 202: "accepted", 304: "not_modified"}


class IntakeFlask(Flask):
    """Flask, with its last-resort exception log stripped of the request's path."""

    def log_exception(
        self,
        exc_info: tuple[type, BaseException, TracebackType] | tuple[None, None, None],
    ) -> None:
        if exc_info[1] is not None:
            log_internal(exc_info[1])


def create_app(
    settings: IntakeSettings,
    *,
    publisher: Publisher | None = None,
    store: Store | None = None,
    clock: Callable[[], float] = time.time,
    shared_metrics: Path | None = None,
) -> Flask:
    """An intake app; raises DirectoryError if the directory file does not verify, SiteError if the site manifest does not.

    `publisher` defaults to a ConfirmedPublisher on `settings.broker`: one
    connection per process, owned by an I/O thread started on first use (and
    again after gunicorn forks), so the app starts while the broker is away
    and answers 503 until it is back. `store` defaults to a Store on
    `settings.store`, connected on first use (migrations: intake.serving.wsgi
    at start, or `haven store migrate`). `clock` is the seam
    for tests of expiry (challenges, the directory, the replay window).
    `shared_metrics`: the directory every gunicorn worker writes its metrics
    to (intake.serving.processes); /metrics then sums them all.
    """
    directory = DirectoryFile(
        settings.directory_file,
        settings.network_verify_key,
        clock=clock,
        state=settings.directory_state,
    )
    security = headers.security_headers(behind_tls=settings.behind_tls)
    app = IntakeFlask("intake", static_folder=None)
    # Werkzeug refuses a larger body (413) from its declared length, before
    # reading, and stops reading a chunked one there.
    app.config["MAX_CONTENT_LENGTH"] = werkzeug_limit(settings.max_body_bytes)
    app.json.compact = True  # type: ignore[attr-defined]
    metrics = IntakeMetrics(shared_metrics)
    metrics.directory_version.set(directory.version)
    store = store if store is not None else Store(settings.store)
    app.extensions[EXTENSION] = IntakeState(
        settings=settings,
        publisher=publisher if publisher is not None else ConfirmedPublisher(settings.broker),
        pow=ProofOfWork(
            settings.pow_secret,
            lifetime=settings.challenge_lifetime,
            min_bits=settings.pow_min_bits,
            clock=clock,
        ),
        directory=directory,
        metrics=metrics,
        # As long as a challenge lives: a replay after that carries an
        # expired challenge and is refused (403) anyway.
        recent=RecentRequests(window=settings.challenge_lifetime, clock=clock),
        store=store,
        acceptances=AcceptanceRate(Acceptances(store), clock=clock),
        mailboxes=Mailboxes(store, retention_seconds=settings.mailbox_retention, clock=clock),
        spent=RecentRequests(window=settings.challenge_lifetime, clock=clock),
        site_manifest=(
            SiteManifestFile(settings.site_manifest_file, settings.network_verify_key, clock=clock)
            if settings.site_manifest_file is not None
            else None
        ),
    )
    app.register_blueprint(api)
    app.register_blueprint(replies)
    # /healthz, /readyz and /metrics are not on this (public) app at all:
    # they answer on the operators' listener only (ops_app, served on
    # settings.ops_bind), so the public listener says 404 for them, even
    # behind an onion service that cannot filter paths.
    app.extensions[OPS_APP] = _create_ops_app(app.extensions[EXTENSION], security)
    pages.install(app, app.extensions[EXTENSION], clock)
    register_error_handlers(app)
    _install_page_errors(app)
    _install_hooks(app, metrics, security)
    app.extensions[OPENAPI_KEY] = openapi_bytes(
        build_openapi(app, title=API_TITLE, version=API_VERSION)
    )
    return app


def ops_app(app: Flask) -> Flask:
    """The operators' app beside a public intake app: liveness, readiness, metrics; same process state."""
    return cast(Flask, app.extensions[OPS_APP])


def _create_ops_app(state: IntakeState, security: dict[str, str]) -> Flask:
    ops_only = IntakeFlask("intake.ops", static_folder=None)
    ops_only.json.compact = True  # type: ignore[attr-defined]
    # The same state object: /readyz sees the public app's publisher and
    # directory, /metrics its counters (one process, one registry).
    ops_only.extensions[EXTENSION] = state
    ops_only.register_blueprint(ops)
    register_error_handlers(ops_only)

    @ops_only.after_request
    def secure(response: Response) -> Response:
        headers.apply(response, security, page=False)
        return response

    return ops_only


def _install_page_errors(app: Flask) -> None:
    """Errors on the requester's pages are pages in their language; the API's stay JSON."""

    def http_error(exc: HTTPException) -> Response:
        if pages.is_page_request():
            return pages.http_error_page(exc)
        return from_http(exc)

    def unexpected(exc: Exception) -> Response:
        if not pages.is_page_request():
            return from_unexpected(exc)
        # An internal bug, never an input; logged without the request's data.
        log_internal(exc)
        return pages.error_page(500)

    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unexpected)


def _install_hooks(app: Flask, metrics: IntakeMetrics, security: dict[str, str]) -> None:
    @app.before_request
    def start_clock() -> None:
        g.started = time.perf_counter()
        # Expired mailboxes go within a minute of their expiry on any
        # instance that is serving (no thread of our own to restart after
        # gunicorn forks); never fails the request.
        cast(IntakeState, app.extensions[EXTENSION]).mailboxes.purge_now_and_then()

    @app.after_request
    def finish(response: Response) -> Response:
        headers.apply(
            response,
            security,
            page=response.mimetype in headers.PAGE_MIMETYPES,
            path=request.path,
        )
        code: str | None = g.get("error_code")
        if code is not None:
            outcome = outcome_of(code)
        else:
            # A page that queued a request (no-JavaScript send) answers 200.
            outcome = g.get("outcome") or _SUCCESS_OUTCOMES.get(response.status_code, "ok")
        # Labels from closed sets only: the endpoint's own name (never the
        # path asked for), the outcome table, the validated category.
        metrics.observe(
            request.endpoint or UNMATCHED,
            outcome,
            g.get("category", NO_CATEGORY),
            time.perf_counter() - g.get("started", time.perf_counter()),
        )
        return response
