"""The replies page (docs/web-status.md): a requester types the receipt code and reads the thread.

With JavaScript the page only shows the code field: web/src/status.js
derives the keys on the device and talks to the API, and the code never
reaches the server. Without JavaScript the code is posted here, in the body
of a POST to "/" (never in a URL), and this module does in memory what the
script does on the device: parse, derive (Argon2id), fetch, check every
message against the verified directory, open, show; send a follow-up
(sealed here, marked server-sealed) or delete the mailbox. It keeps nothing:
no code, key, message or mailbox id is logged, stored or put in a URL or an
error. The page says so.

The no-JavaScript form's guards stand in for proof of work: each derivation
uses up a ticket (at least a few seconds old: a person typing nine words
takes longer) and takes a token from a bucket of its own, so a flood of
codes posted here cannot starve the no-JavaScript form, nor the reverse.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from flask import Response, g, request
from markupsafe import Markup

from haven.broker import BrokerUnavailable
from haven.directory import partner_by_id
from haven.envelope import PublicKey, digest, seal
from haven.replies import (
    CODE_WORDS,
    CodeError,
    FollowUp,
    MessageFormatError,
    ReceiptCode,
    ReplyKeys,
    access_hash,
    derive,
    follow_up_labels,
    parse,
)
from haven.replies.code import normalise
from haven.store import StoreUnavailable
from intake.directory_file import DirectoryExpired
from intake.guards.nojs import SharedBucket, TicketRejected, Tickets
from intake.pages.catalog import N_, Catalog
from intake.pages.steps import (
    STATUS,
    STATUS_DELETE,
    STATUS_DELETE_CONFIRMED,
    STATUS_FOLLOW_UP,
    STATUS_READ,
    Place,
)
from intake.pages.thread import (
    MAX_FOLLOW_UP_CHARS,
    ShownThread,
    follow_up_problem,
    shown_thread,
)
from intake.state import IntakeState, intake_state
from schemas.directory import Directory
from schemas.messages import MESSAGES

CODE_FIELD, TEXT_FIELD, TICKET_FIELD = "code", "text", "ticket"
# The partner the page said a follow-up goes to ("Write to …").
PARTNER_FIELD = "partner"
# A receipt code as typed is nine short words; a body field far longer is
# not a code, and is refused before it is parsed.
MAX_CODE_CHARS = 400

# What a code error says, by reason and position only: never a typed word
# (docs/replies-v1.md section 1.5).
CODE_ERRORS = {
    "word_count": N_("A code phrase has {words} words; this has {count}."),
    "unknown_word": N_("Word {position} of the code phrase is not in its word list."),
    "check_failed": N_(
        "The code phrase's check failed: a word is mistyped or two words are swapped."
    ),
}
# What each state means for the requester (docs/replies-v1.md section 3.1).
STATE_TEXTS = {
    "received": N_("An organisation has received your request."),
    "in_progress": N_("Someone is working on your request."),
    "need_info": N_("The organisation needs more information. Read the reply and answer below."),
    "closed": N_("The organisation has finished with your request."),
}
TICKET_TEXTS = {
    "invalid": N_("This page could not be checked. Press the button again."),
    "too_young": N_("That was faster than a person types. Wait a few seconds and press again."),
    "too_old": N_("This page was open for more than an hour. Press the button again."),
}
BUSY = N_("Too many people are using this right now. Wait {seconds} seconds and press again.")
UNAVAILABLE = N_("The service cannot open conversations right now. Try again in {seconds} seconds.")
SPENT_TITLE = N_("This page was already used")
SPENT_TEXT = N_(
    "This page was already used, so nothing of it is shown again. "
    "To read your answers, start again from the first page."
)
NEW_WRITER = N_(
    "A new message has arrived since you opened the conversation, so yours was not sent. "
    "Read it, and check who your message goes to before you send it again."
)
NO_PARTNER = N_(
    "No organisation has written to you yet, so there is nobody to send a message to. "
    "Look again later."
)
# The texts web/src/status.js shows (config.messages), besides the code
# errors (code_<reason>), the states (state_<state>) and the schemas' field
# messages (required, too_long, control_chars).
BUNDLE_MESSAGES: Mapping[str, str] = {
    "deriving": N_("Opening your conversation on this phone…"),
    "working": N_("Checking for messages. On a slow phone this can take a minute."),
    "sending": N_("Sending…"),
    "unverified_one": N_("One message could not be verified, so it is not shown."),
    "unverified_many": N_("Messages that could not be verified, and so are not shown: {count}."),
    "status_label": N_("Status:"),
    "write_to": N_("Write to {partner}"),
    "follow_up_sent": N_("Your message has been sent. It goes to {partner} only."),
    "no_partner": NO_PARTNER,
    "directory_refused": N_(
        "The list of organisations could not be verified, so nothing was opened. "
        "Someone may be interfering with your connection. "
        "Try again later or from another connection."
    ),
    "network_error": N_("No connection to the service. Check your connection and try again."),
    "busy_retry": N_(
        "The service is busy. Trying again in {seconds} seconds. Keep this page open."
    ),
    "unavailable": N_(
        "The service cannot open conversations right now. Try again in a few minutes."
    ),
    "refused": N_("The service refused this. Reload the page and try again."),
    "failed": N_("Something went wrong on this phone. Reload the page and try again."),
}


def bundle_messages(catalog: Catalog, lang: str) -> dict[str, str]:
    """config.messages of the replies page: every text haven-status.js shows, in `lang`."""
    messages = {key: catalog.gettext(lang, msgid) for key, msgid in BUNDLE_MESSAGES.items()}
    for reason, msgid in CODE_ERRORS.items():
        messages[f"code_{reason}"] = catalog.gettext(lang, msgid)
    for state, msgid in STATE_TEXTS.items():
        messages[f"state_{state}"] = catalog.gettext(lang, msgid)
    for code in ("required", "too_long", "control_chars"):
        messages[code] = MESSAGES[code][lang]
    return messages


@dataclass(frozen=True)
class PageKit:
    """What the replies steps need of the pages module: rendering, texts, the no-JS guards."""

    render: Callable[..., Response]
    translate: Callable[..., str]
    tickets: Tickets
    bucket: SharedBucket
    # The ticket a page carries on: the posted one while it can still be used.
    next_ticket: Callable[[], str]
    # The page's #haven-config JSON, ready for its <script> element.
    config: Callable[[str], Markup]


# Renders the step's own page again with an alert and a status: the entry
# page with the code kept, the follow-up with its text, the delete question.
RefusedPage = Callable[[str | None, int], Response]


class _Refused(Exception):  # noqa: N818 - control flow: carries the page to answer
    def __init__(self, response: Response) -> None:
        super().__init__("refused")
        self.response = response


def answer(place: Place, kit: PageKit) -> Response:
    """The page of one replies step."""
    try:
        if place.step == STATUS:
            return _entry(place, kit, kit.tickets.issue())
        _refuse_if_spent(place, kit)
        if place.step == STATUS_READ:
            return _read(place, kit)
        if place.step == STATUS_FOLLOW_UP:
            return _follow_up(place, kit)
        if place.step == STATUS_DELETE:
            return _confirm_delete(place, kit)
        assert place.step == STATUS_DELETE_CONFIRMED  # noqa: S101 - read_place allows no other
        return _delete(place, kit)
    except _Refused as refused:
        return refused.response


def _refuse_if_spent(place: Place, kit: PageKit) -> None:
    """A page posted again with a spent ticket (Back, reload) gets a page that shows none of it.

    The browser keeps each posted body, code included, in the tab's
    history; once its ticket is spent, that body opens nothing again.
    """
    try:
        spent = kit.tickets.spent(request.form.get(TICKET_FIELD, ""))
    except StoreUnavailable:
        # Unknown while the store is away; every step that opens anything
        # checks the ticket against the store again, and answers 503.
        spent = False
    if spent:
        raise _Refused(_spent_page(place, kit))


def _spent_page(place: Place, kit: PageKit) -> Response:
    g.error_code = "pow_invalid"
    return kit.render(
        "error.html",
        place.lang,
        status=403,
        title_msgid=SPENT_TITLE,
        text_msgid=SPENT_TEXT,
        text_values={},
    )


def _entry(
    place: Place,
    kit: PageKit,
    ticket: str,
    *,
    code: str = "",
    alert: str | None = None,
    status: int = 200,
) -> Response:
    """The code field; with JavaScript the script takes it over, without it the form posts here."""
    return kit.render(
        "status.html",
        place.lang,
        status=status,
        ticket=ticket,
        code=code,
        alert=alert,
        config=kit.config(place.lang),
        max_chars=MAX_FOLLOW_UP_CHARS,
        with_status_bundle=True,
    )


def _posted_code(place: Place, kit: PageKit) -> tuple[str, ReceiptCode]:
    """The typed code and what it parses to; the entry page with the reason (422) otherwise."""
    typed = request.form.get(CODE_FIELD, "")
    try:
        if len(typed) > MAX_CODE_CHARS:
            raise CodeError("word_count", "too long")
        return typed, parse(typed)
    except CodeError as error:
        g.error_code = "invalid"
        values: dict[str, object] = {"words": CODE_WORDS}
        if error.reason == "word_count":
            values["count"] = _word_count(typed)
        if error.position is not None:
            values["position"] = error.position
        alert = kit.translate(place.lang, CODE_ERRORS[error.reason], **values)
        raise _Refused(
            _entry(place, kit, kit.next_ticket(), code=typed, alert=alert, status=422)
        ) from None


def _word_count(typed: str) -> int:
    # Counted as the parser counts words, so the number matches what it read.
    return len(normalise(typed)) if len(typed) <= MAX_CODE_CHARS else len(typed.split())


def _admit(place: Place, kit: PageKit, refused_page: RefusedPage) -> None:
    """Use up the page's ticket and take a bucket token, or raise _Refused with the page to answer."""
    state = intake_state()
    try:
        ticket = kit.tickets.check(request.form.get(TICKET_FIELD, ""))
        admission = kit.bucket.take(ticket, _tightening(state))
        if not admission.admitted:
            g.error_code = "unavailable"
            response = refused_page(
                kit.translate(place.lang, BUSY, seconds=admission.retry_after), 503
            )
            response.headers["Retry-After"] = str(admission.retry_after)
            raise _Refused(response)
        kit.tickets.use(ticket)
    except TicketRejected as rejected:
        if rejected.problem == "reused":
            raise _Refused(_spent_page(place, kit)) from None
        g.error_code = "pow_expired" if rejected.problem == "too_old" else "pow_invalid"
        raise _Refused(
            refused_page(kit.translate(place.lang, TICKET_TEXTS[rejected.problem]), 403)
        ) from None
    except StoreUnavailable:
        state.metrics.store_unavailable.inc()
        raise _Refused(_unavailable(place, kit, refused_page)) from None


def _unavailable(place: Place, kit: PageKit, refused_page: RefusedPage) -> Response:
    g.error_code = "unavailable"
    seconds = intake_state().settings.broker.retry_after
    response = refused_page(kit.translate(place.lang, UNAVAILABLE, seconds=seconds), 503)
    response.headers["Retry-After"] = str(seconds)
    return response


def _tightening(state: IntakeState) -> int:
    return state.current_difficulty() - state.settings.pow_min_bits


@dataclass(frozen=True)
class _Opened:
    keys: ReplyKeys
    thread: ShownThread
    # The directory the messages were checked against: a follow-up goes to
    # the keys it lists, and the page names partners as it does.
    directory: Directory


def _open(place: Place, kit: PageKit, code: ReceiptCode, refused_page: RefusedPage) -> _Opened:
    """Derive the keys, fetch the mailbox, check and open each message: all in this request's memory."""
    state = intake_state()
    keys = derive(code)
    try:
        directory = state.directory.current().directory
        # A wrong code and an empty mailbox are the same empty list (the
        # store answers both from one path): this page cannot tell them apart.
        wires = state.mailboxes.fetch(keys.mailbox_id, access_hash(keys.access_secret))
    except DirectoryExpired:
        raise _Refused(_unavailable(place, kit, refused_page)) from None
    except StoreUnavailable:
        state.metrics.store_unavailable.inc()
        raise _Refused(_unavailable(place, kit, refused_page)) from None
    return _Opened(keys, shown_thread(wires, keys, directory), directory)


def _read(place: Place, kit: PageKit) -> Response:
    typed, code = _posted_code(place, kit)

    def refused_page(alert: str | None, status: int) -> Response:
        # The code stays in the field: the person does not type it again.
        return _entry(place, kit, kit.next_ticket(), code=typed, alert=alert, status=status)

    _admit(place, kit, refused_page)
    return _thread_page(place, kit, typed, _open(place, kit, code, refused_page).thread)


def _thread_page(
    place: Place,
    kit: PageKit,
    typed: str,
    thread: ShownThread,
    *,
    text: str = "",
    error: str | None = None,
    alert: str | None = None,
    status: int = 200,
) -> Response:
    lang = place.lang
    return kit.render(
        "status_thread.html",
        lang,
        status=status,
        thread=thread,
        state_text=(kit.translate(lang, STATE_TEXTS[thread.state]) if thread.state else None),
        state_texts={s: kit.translate(lang, t) for s, t in STATE_TEXTS.items()},
        # Who a follow-up goes to: the latest message's organisation. Its id
        # travels with the form, so that the follow-up goes to the one named.
        partner_name=thread.messages[-1].partner_name if thread.messages else None,
        partner_id=thread.latest_partner or "",
        # Carried in the page (never stored, never cached: no-store) so that
        # the follow-up and delete forms need not ask for it again.
        code=typed,
        ticket=kit.tickets.issue(),
        text=text,
        error=error,
        alert=alert,
        max_chars=MAX_FOLLOW_UP_CHARS,
    )


def _follow_up(place: Place, kit: PageKit) -> Response:
    """Seal the follow-up to every current key of the latest message's partner, and queue it."""
    typed, code = _posted_code(place, kit)
    named = request.form.get(PARTNER_FIELD, "")
    text = request.form.get(TEXT_FIELD, "").replace("\r\n", "\n")
    problem = follow_up_problem(text)
    if problem is not None:
        # Checked before the ticket: a text to fix spends nothing.
        g.error_code = "invalid"
        error = MESSAGES[problem][place.lang].format(max=MAX_FOLLOW_UP_CHARS)
        return _follow_up_page(place, kit, typed, named, text, error=error, status=422)

    def refused_page(alert: str | None, status: int) -> Response:
        return _follow_up_page(place, kit, typed, named, text, alert=alert, status=status)

    _admit(place, kit, refused_page)
    opened = _open(place, kit, code, refused_page)
    state = intake_state()
    partner_id = opened.thread.latest_partner
    if partner_id is not None and named != partner_id:
        # The page named another organisation (someone wrote since it was
        # shown, or the body was altered): the text goes to nobody unseen.
        # The thread again, with the new writer named and the text kept.
        g.error_code = "invalid"
        return _thread_page(
            place,
            kit,
            typed,
            opened.thread,
            text=text,
            alert=kit.translate(place.lang, NEW_WRITER),
            status=409,
        )
    partner = partner_by_id(opened.directory, partner_id) if partner_id is not None else None
    if partner is None or not partner.keys:
        # Nobody has written yet, or the organisation has left the network.
        g.error_code = "invalid"
        return _thread_page(
            place, kit, typed, opened.thread, text=text, alert=kit.translate(place.lang, NO_PARTNER)
        )
    keys = opened.keys
    try:
        plaintext = FollowUp(
            mailbox_id=keys.mailbox_id, reply_key=keys.reply_key.public_key.to_bytes(), text=text
        ).to_plaintext()
    except MessageFormatError:
        # What follow_up_problem does not see (a lone surrogate): the same answer.
        g.error_code = "invalid"
        return _follow_up_page(
            place,
            kit,
            typed,
            named,
            text,
            error=MESSAGES["control_chars"][place.lang],
            status=422,
        )
    # Sealed in memory to that partner alone: the labels name it and are
    # authenticated, so the follow-up cannot be pointed at anyone else; the
    # flag tells the partner the intake saw the text.
    envelope = seal(
        plaintext,
        follow_up_labels(partner.id, place.lang),
        [PublicKey.from_bytes(k.public_key) for k in partner.keys],
        server_sealed=True,
    )
    del plaintext
    message_id = digest(envelope)
    try:
        state.publisher.publish(envelope, message_id=message_id)
    except BrokerUnavailable as unavailable:
        state.metrics.broker_unavailable.labels(unavailable.reason).inc()
        g.error_code = "unavailable"
        response = refused_page(
            kit.translate(place.lang, UNAVAILABLE, seconds=unavailable.retry_after), 503
        )
        response.headers["Retry-After"] = str(unavailable.retry_after)
        return response
    state.acceptances.accepted()
    g.outcome = "accepted"
    return kit.render(
        "status_sent.html",
        place.lang,
        partner_name=partner.display_name,
        code=typed,
        ticket=kit.tickets.issue(),
    )


def _follow_up_page(
    place: Place,
    kit: PageKit,
    typed: str,
    named: str,
    text: str,
    *,
    error: str | None = None,
    alert: str | None = None,
    status: int,
) -> Response:
    """The follow-up alone, its text kept: to fix it, or to send it again later."""
    return kit.render(
        "status_follow_up.html",
        place.lang,
        status=status,
        code=typed,
        partner_id=named,
        ticket=kit.next_ticket(),
        text=text,
        error=error,
        alert=alert,
        max_chars=MAX_FOLLOW_UP_CHARS,
    )


def _confirm_delete(place: Place, kit: PageKit) -> Response:
    """Ask before deleting: nothing is derived or deleted yet."""
    typed, _ = _posted_code(place, kit)
    return kit.render(
        "status_delete.html", place.lang, code=typed, ticket=kit.next_ticket(), alert=None
    )


def _delete(place: Place, kit: PageKit) -> Response:
    typed, code = _posted_code(place, kit)

    def refused_page(alert: str | None, status: int) -> Response:
        return kit.render(
            "status_delete.html",
            place.lang,
            status=status,
            code=typed,
            ticket=kit.next_ticket(),
            alert=alert,
        )

    _admit(place, kit, refused_page)
    state = intake_state()
    keys = derive(code)
    try:
        # A wrong code deletes nothing and is answered the same: the page
        # cannot tell whose mailbox this was, or whether there was one.
        state.mailboxes.delete(keys.mailbox_id, access_hash(keys.access_secret))
    except StoreUnavailable:
        state.metrics.store_unavailable.inc()
        return _unavailable(place, kit, refused_page)
    return kit.render("status_deleted.html", place.lang)
