"""The requester's pages (docs/web-form.md): language, about, the forms, the no-JavaScript mode.

HTML in Russian, Ukrainian and English, from Jinja templates and the
gettext catalogs; the forms from schemas.forms. Nothing here sets a
cookie, uses Flask's session, logs a value, or puts anything in a URL:
every step is `/`, and where the requester is travels in the POST body
(intake.pages.steps).
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, cast

from flask import Blueprint, Flask, Response, abort, current_app, g, render_template, request
from markupsafe import Markup
from werkzeug.exceptions import HTTPException

from haven.broker import BrokerUnavailable
from haven.directory import DirectoryError, recipient_keys
from haven.envelope import Labels, digest, seal
from haven.store import StoreUnavailable, UsedTickets
from intake.directory_file import DirectoryExpired
from intake.guards.nojs import SharedBucket, TicketRejected, Tickets
from intake.pages import status
from intake.pages.catalog import N_, Catalog, read_catalog
from intake.pages.forms import (
    check,
    controls,
    hidden_values,
    posted_values,
    review_rows,
    routing_controls,
    routing_rows,
)
from intake.pages.receipts import ServerReceipt, make_receipt
from intake.pages.steps import (
    EDIT,
    FORM,
    HELP,
    SEND,
    STATUS_STEPS,
    Place,
    PlaceError,
    read_place,
)
from intake.state import IntakeState, intake_state
from schemas.content import RequestContent, content_to_json_bytes
from schemas.forms import form_definition
from schemas.i18n import LANGUAGE_CODES
from schemas.routing import CATEGORIES, CATEGORY_LABELS, Routing

PAGES_KEY = "intake.pages"
FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
# The largest honest form: every text field full of 4-byte characters,
# percent-encoded (12 bytes each), is about 40 KB. A longer body is refused
# (413) before it is read.
MAX_FORM_BYTES = 64 * 1024
# Static files the pages load: a closed list, with their types. Not cached:
# a copy of the crypto bundle in a phone's browser cache would show that
# its owner opened a Haven form.
STATIC_FILES = {
    "haven.css": "text/css",
    "quick-exit.js": "text/javascript",
    "haven-form.js": "text/javascript",
    "haven-pow-worker.js": "text/javascript",
    "haven-status.js": "text/javascript",
    "haven-receipt-worker.js": "text/javascript",
}
# The Web Worker that makes a receipt code and derives its keys: the one
# script that runs WebAssembly (intake.headers).
RECEIPT_WORKER_PATH = "/static/haven-receipt-worker.js"
# Where the quick exit goes: an ordinary, neutral site.
QUICK_EXIT_URL = "https://yandex.ru/pogoda/"

pages = Blueprint("pages", __name__)

_TICKET_TEXTS = {
    "invalid": N_(
        "This form could not be checked, so nothing was sent. "
        "Look over your answers and press Send again."
    ),
    "too_young": N_(
        "That was faster than a person fills in a form, so nothing was sent yet. "
        "Wait a few seconds and press Send again."
    ),
    "too_old": N_(
        "This page was open for more than an hour, so nothing was sent. "
        "Your answers are still here: look them over and press Send again."
    ),
    "reused": N_(
        "This form was already sent, so nothing from it is shown again. "
        "If you did not see a request number, start again from the first page."
    ),
}
SPENT_TITLE = N_("This form was already used")
BUSY = N_(
    "Too many requests are arriving right now, so nothing was sent yet. "
    "Your answers are still here. Wait {seconds} seconds and press Send again."
)
UNAVAILABLE = N_(
    "The service cannot take requests right now, so nothing was sent. "
    "Your answers are still here. Wait {seconds} seconds and press Send again."
)
FIX_ERRORS = N_("Some answers need a fix. They are marked below.")
CROSS_SITE_TITLE = N_("This page came from another site")
CROSS_SITE_TEXT = N_(
    "Another website sent this page here, so nothing of it was used. "
    "Open this site yourself and start again from the first page."
)
# Where a browser says a post came from (Sec-Fetch-Site): this site itself,
# or the person (a page posted again from history). Anything else is
# another site's page posting here.
_OWN_POSTS = frozenset({"same-origin", "none"})
WRONG_PLACE = N_(
    "This page arrived without a valid “{field}”, so it cannot be shown. Start again from the first page."
)


@dataclass(frozen=True)
class PagesState:
    catalog: Catalog
    tickets: Tickets
    bucket: SharedBucket
    # The replies page's own bucket (intake.pages.status): reading a thread
    # without JavaScript costs an Argon2id derivation, and a flood of codes
    # must not take the tokens of people sending requests, nor the reverse.
    status_bucket: SharedBucket


def pages_state() -> PagesState:
    return cast(PagesState, current_app.extensions[PAGES_KEY])


def install(app: Flask, state: IntakeState, clock: Any) -> None:
    """Read the catalogs, make the ticket issuer and bucket, register the blueprint."""
    settings = state.settings
    app.extensions[PAGES_KEY] = PagesState(
        catalog=read_catalog(),
        tickets=Tickets(
            settings.pow_secret,
            used=UsedTickets(state.store, clock=clock),
            min_age=settings.nojs_ticket_min_age,
            max_age=settings.nojs_ticket_max_age,
            patient_age=settings.nojs_patient_age,
            clock=clock,
        ),
        bucket=SharedBucket(
            size=settings.nojs_bucket_size,
            per_minute=settings.nojs_refill_per_minute,
            reserved_percent=settings.nojs_reserved_percent,
            clock=clock,
        ),
        status_bucket=SharedBucket(
            size=settings.nojs_bucket_size,
            per_minute=settings.nojs_refill_per_minute,
            reserved_percent=settings.nojs_reserved_percent,
            clock=clock,
        ),
    )
    app.register_blueprint(pages)


def _translator(lang: str) -> Any:
    return functools.partial(pages_state().catalog.gettext, lang)


def _page(template: str, lang: str, status: int = 200, **context: Any) -> Response:
    catalog = pages_state().catalog
    html = render_template(
        template,
        lang=lang,
        _=functools.partial(catalog.gettext, lang),
        quick_exit_url=QUICK_EXIT_URL,
        category_labels=CATEGORY_LABELS,
        categories=CATEGORIES,
        **context,
    )
    response = Response(html, status=status, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


@pages.get("/", provide_automatic_options=False)
def language() -> Response:
    """Choose a language (the page itself in Russian and Ukrainian): the first step."""
    catalog = pages_state().catalog
    return _page(
        "language.html",
        "ru",
        ru=functools.partial(catalog.gettext, "ru"),
        uk=functools.partial(catalog.gettext, "uk"),
        en=functools.partial(catalog.gettext, "en"),
    )


@pages.before_request
def refuse_other_sites() -> Response | None:
    """Every post of a page must come from this site's own pages."""
    if request.method != "POST":
        return None
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in _OWN_POSTS:
        # A hostile site could post a code of its own choosing from the
        # person's browser: they would read, and answer into, a
        # conversation that is not theirs, the answer sealed to the
        # attacker's reply key. Or it could send a request in their name.
        # Browsers that say nothing (older ones) are let through.
        g.error_code = "cross_site"
        return _page(
            "error.html",
            "ru",
            status=403,
            title_msgid=CROSS_SITE_TITLE,
            text_msgid=CROSS_SITE_TEXT,
            text_values={},
        )
    return None


@pages.post("/", provide_automatic_options=False)
def step() -> Response:
    """Every later step, at the same URL: help choice, form, and without JavaScript review, edit, send."""
    if request.mimetype != FORM_MEDIA_TYPE:
        abort(415)
    # Bounded before a byte of the form is read (chunked bodies included).
    request.max_content_length = MAX_FORM_BYTES
    try:
        place = read_place(request.form)
    except PlaceError as wrong:
        g.error_code = "bad_request"
        return _page(
            "error.html",
            wrong.lang,
            status=400,
            title_msgid=N_("Something went wrong"),
            text_msgid=WRONG_PLACE,
            text_values={"field": wrong.field},
        )
    if place.step in STATUS_STEPS:
        # The answers page checks its own tickets (a page posted again
        # after a read is told so in its own words).
        return status.answer(place, _status_kit())
    # A page posted again with a spent ticket is Back or reload after a send
    # (the browser keeps the body in its history): answered without a word of
    # the request, not even its kind of help.
    try:
        spent = place.step != HELP and pages_state().tickets.spent(request.form.get("ticket", ""))
    except StoreUnavailable:
        # Unknown while the store is away: the person's form and review keep
        # working, and the send itself answers 503 (and is counted), so
        # nothing goes twice.
        spent = False
    if spent:
        return _spent_page(place.lang)
    if place.step == HELP:
        return _page("home.html", place.lang, ticket=_next_ticket())
    if place.step == FORM:
        return _form_page(place, {}, {})
    return _submit(place)


def _form_page(
    place: Place,
    values: Mapping[str, list[str]],
    errors: Mapping[str, str],
    *,
    status: int = 200,
) -> Response:
    lang, category = place.lang, _category(place)
    state = intake_state()
    translate = _translator(lang)
    definition = form_definition(category)
    config = {
        "lang": lang,
        "category": category,
        "network_key": base64.b64encode(state.settings.network_verify_key.raw).decode("ascii"),
        "directory_url": "/v1/directory",
        "challenge_url": "/v1/challenge",
        "submit_url": "/v1/requests",
        "pow_worker_url": "/static/haven-pow-worker.js",
        "receipt_worker_url": RECEIPT_WORKER_PATH,
        "form": definition,
        "messages": pages_state().catalog.bundle_messages(lang),
    }
    return _page(
        "form.html",
        lang,
        status=status,
        category=category,
        definition=definition,
        fields=controls(definition, lang, translate, values, errors),
        routing=routing_controls(lang, translate, values, errors),
        config_json=_script_json(config),
        ticket=_next_ticket(),
        alert=translate(FIX_ERRORS) if errors else None,
        with_bundle=True,
    )


def _status_kit() -> status.PageKit:
    state = pages_state()
    return status.PageKit(
        render=_page,
        translate=state.catalog.gettext,
        tickets=state.tickets,
        bucket=state.status_bucket,
        next_ticket=_next_ticket,
        config=_status_config,
    )


def _status_config(lang: str) -> Markup:
    """The replies page's #haven-config: its URLs, the pinned network key, its texts."""
    state = intake_state()
    return _script_json(
        {
            "lang": lang,
            "network_key": base64.b64encode(state.settings.network_verify_key.raw).decode("ascii"),
            "directory_url": "/v1/directory",
            "challenge_url": "/v1/challenge",
            "fetch_url": "/v1/mailbox/fetch",
            "delete_url": "/v1/mailbox/delete",
            "follow_up_url": "/v1/follow-ups",
            "pow_worker_url": "/static/haven-pow-worker.js",
            "receipt_worker_url": RECEIPT_WORKER_PATH,
            "messages": status.bundle_messages(pages_state().catalog, lang),
        }
    )


def _script_json(value: object) -> Markup:
    """JSON safe inside <script type="application/json">: no '<', '>' or '&' to end it early."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)  # noqa: S704 - escaped above for the script context  # nosec B704


def _next_ticket() -> str:
    """The ticket the next page carries: the posted one while it can still send, else a fresh one.

    One ticket for the whole request, from the help choice to the send, so
    that once it is spent every earlier page of it is refused on Back.
    """
    tickets = pages_state().tickets
    posted = request.form.get("ticket", "")
    try:
        spent = tickets.spent(posted)
    except StoreUnavailable:
        # Carried on unchanged: the send checks it again, against the store.
        spent = False
    return tickets.issue() if spent else tickets.carry(posted)


def _spent_page(lang: str) -> Response:
    g.error_code = "pow_invalid"
    return _page(
        "error.html",
        lang,
        status=403,
        title_msgid=SPENT_TITLE,
        text_msgid=_TICKET_TEXTS["reused"],
        text_values={},
    )


def _category(place: Place) -> str:
    assert place.category is not None  # noqa: S101 - read_place sets it for every step after help
    return place.category


def _submit(place: Place) -> Response:
    """Without JavaScript: review checks and shows; edit goes back; send seals and queues."""
    lang, category = place.lang, _category(place)
    definition = form_definition(category)
    values = posted_values(request.form.to_dict(flat=False), definition)
    if place.step == EDIT:
        return _form_page(place, values, {})
    translate = _translator(lang)
    checked = check(category, definition, values, lang, translate)
    if checked.errors:
        g.error_code = "invalid"
        return _form_page(place, values, checked.errors, status=422)
    if place.step != SEND:
        return _review_page(place, values)
    assert checked.routing is not None  # noqa: S101 - by check()
    return _send(place, values, checked.content, checked.routing)


def _admit(place: Place, values: Mapping[str, list[str]]) -> Response | None:
    """Use up the form's ticket and take a bucket token: None when admitted, else the page to answer."""
    state = intake_state()
    tickets = pages_state().tickets
    try:
        ticket = tickets.check(request.form.get("ticket", ""))
        admission = pages_state().bucket.take(ticket, _tightening(state))
        if not admission.admitted:
            # The ticket is not used up: the same form, sent again later, has
            # aged, and a patient ticket draws on the bucket's reserved share.
            return _unavailable(place, values, BUSY, admission.retry_after)
        tickets.use(ticket)
    except TicketRejected as rejected:
        if rejected.problem == "reused":
            return _spent_page(place.lang)
        g.error_code = "pow_expired" if rejected.problem == "too_old" else "pow_invalid"
        alert = _translator(place.lang)(_TICKET_TEXTS[rejected.problem])
        return _review_page(place, values, alert=alert, status=403)
    except StoreUnavailable:
        state.metrics.store_unavailable.inc()
        return _unavailable(place, values, UNAVAILABLE, state.settings.broker.retry_after)
    return None


def _send(
    place: Place,
    values: Mapping[str, list[str]],
    content: RequestContent | None,
    routing: Routing,
) -> Response:
    """Ticket, bucket, recipients, seal in memory with the server-sealed flag, publish.

    `content` is None for a reply through Haven: its receipt code is made
    here, once the send is admitted, and shown on the confirmation only.
    """
    lang, category = place.lang, _category(place)
    state = intake_state()
    refused = _admit(place, values)
    if refused is not None:
        return refused
    receipt: ServerReceipt | None = None
    if content is None:
        receipt = make_receipt(lang)
        definition = form_definition(category)
        content = check(
            category, definition, values, lang, _translator(lang), reply=receipt.members
        ).content
        assert content is not None  # noqa: S101 - the same fields passed check() above
    try:
        served = state.directory.current()
        recipients = recipient_keys(served.directory, category, routing.region)
    except (DirectoryExpired, DirectoryError):
        return _unavailable(place, values, UNAVAILABLE, state.settings.broker.retry_after)
    # Sealed in memory, in this request only: the plaintext is never written,
    # logged, or put in an error; the envelope's flag tells the partner the
    # intake saw it.
    plaintext = content_to_json_bytes(content)
    envelope = seal(
        plaintext,
        Labels(category, routing.region, routing.language, routing.urgency),
        recipients,
        server_sealed=True,
    )
    # Our references go at once (Python cannot wipe the bytes; the request's
    # form goes when the request ends).
    del plaintext, content
    request_id = digest(envelope)
    try:
        state.publisher.publish(envelope, message_id=request_id)
    except BrokerUnavailable as unavailable:
        state.metrics.broker_unavailable.labels(unavailable.reason).inc()
        return _unavailable(place, values, UNAVAILABLE, unavailable.retry_after)
    # Counted like any acceptance: a flood through this path prices both.
    state.acceptances.accepted()
    del envelope
    g.outcome = "accepted"
    # The code goes into this page and nowhere else: no log, no store, no URL.
    return _page(
        "sent.html",
        lang,
        request_id=request_id,
        receipt_code=receipt.code if receipt is not None else None,
    )


def _review_page(
    place: Place,
    values: Mapping[str, list[str]],
    *,
    alert: str | None = None,
    status: int = 200,
) -> Response:
    lang, category = place.lang, _category(place)
    translate = _translator(lang)
    definition = form_definition(category)
    checked = check(category, definition, values, lang, translate)
    assert checked.routing is not None  # noqa: S101 - only valid forms are reviewed
    return _page(
        "review.html",
        lang,
        status=status,
        category=category,
        definition=definition,
        rows=review_rows(definition, lang, values) + routing_rows(checked.routing, lang, translate),
        hidden=hidden_values(values),
        ticket=_next_ticket(),
        alert=alert,
    )


def _unavailable(
    place: Place, values: Mapping[str, list[str]], text: str, retry_after: int
) -> Response:
    g.error_code = "unavailable"
    response = _review_page(
        place,
        values,
        alert=_translator(place.lang)(text, seconds=retry_after),
        status=503,
    )
    response.headers["Retry-After"] = str(retry_after)
    return response


def _tightening(state: IntakeState) -> int:
    """Bits of proof-of-work difficulty above the floor now: the bucket halves per bit."""
    return state.current_difficulty() - state.settings.pow_min_bits


@pages.get("/static/<name>", provide_automatic_options=False)
def static(name: str) -> Response:
    """The pages' own CSS and scripts: a closed list, never cached."""
    mimetype = STATIC_FILES.get(name)
    if mimetype is None:
        abort(404)
    path = resources.files("intake") / "static" / name
    if not path.is_file():
        abort(404)
    response = Response(path.read_bytes(), mimetype=mimetype)
    response.headers["Cache-Control"] = "no-store"
    return response


# Answered as JSON, in the API's error shape: everything else is a page.
_API_PREFIXES = ("/v1/",)
_API_PATHS = frozenset({"/v1", "/healthz", "/readyz", "/metrics"})
_ERROR_TEXTS = {
    404: (N_("Page not found"), N_("There is no such page here.")),
    405: (N_("Page not found"), N_("There is no such page here.")),
    413: (
        N_("Too much text"),
        N_("The form was too long to send. Go back and shorten your answers."),
    ),
    415: (N_("Page not found"), N_("There is no such page here.")),
    500: (
        N_("Something went wrong"),
        N_("Something went wrong on our side. Nothing was sent. Try again in a few minutes."),
    ),
}
_ERROR_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
}


def is_page_request() -> bool:
    """Whether this request gets HTML answers (anything outside the API and the operators' paths)."""
    path = request.path
    return not (path in _API_PATHS or path.startswith(_API_PREFIXES))


def error_page(status: int) -> Response:
    """An error as a page, in the language of the path where it names one, else Russian."""
    first = request.path.strip("/").split("/", 1)[0]
    lang = first if first in LANGUAGE_CODES else "ru"
    g.error_code = _ERROR_CODES.get(status, "internal" if status >= 500 else "bad_request")
    title, text = _ERROR_TEXTS.get(status, _ERROR_TEXTS[500 if status >= 500 else 404])
    return _page(
        "error.html", lang, status=status, title_msgid=title, text_msgid=text, text_values={}
    )


def http_error_page(exc: HTTPException) -> Response:
    response = error_page(exc.code or 500)
    if exc.code == 405:
        allowed = exc.get_response().headers.get("Allow")
        if allowed:
            response.headers["Allow"] = allowed
    return response
