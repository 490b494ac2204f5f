"""Where a requester is in the pages: the language, the step and the category, read from a POST body.

Every page step has the one neutral URL `/` (docs/web-form.md, "One
neutral URL"). A phone that is searched keeps its URLs and their titles in
the history, so the kind of help asked for (desertion, a prisoner) travels
only in the body of a POST, never in a path, a query string or a fragment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from schemas.i18n import LANGUAGE_CODES
from schemas.routing import CATEGORIES

# The steps after the language page, in the order a requester meets them;
# review, edit and send are the no-JavaScript mode's (with JavaScript the
# form page does them in place).
HELP, FORM, REVIEW, EDIT, SEND = "help", "form", "review", "edit", "send"
# The replies page (docs/web-status.md): the page where a requester types the
# receipt code, and, without JavaScript, reading the thread, sending a
# follow-up, and deleting the conversation (asked, then confirmed). They
# name no kind of help, so they carry no category.
STATUS = "status"
STATUS_READ = "status_read"
STATUS_FOLLOW_UP = "status_follow_up"
STATUS_DELETE = "status_delete"
STATUS_DELETE_CONFIRMED = "status_delete_confirmed"
STATUS_STEPS = (STATUS, STATUS_READ, STATUS_FOLLOW_UP, STATUS_DELETE, STATUS_DELETE_CONFIRMED)
STEPS = (HELP, FORM, REVIEW, EDIT, SEND, *STATUS_STEPS)
# The fields of the body that say where the requester is.
LANG_FIELD, STEP_FIELD, CATEGORY_FIELD = "lang", "step", "category"
DEFAULT_LANG = "ru"


@dataclass(frozen=True)
class Place:
    lang: str
    step: str
    # None on the help step, where the category is being chosen, and on the
    # replies steps, which belong to no category.
    category: str | None


class PlaceError(ValueError):
    """A body that does not say where the requester is: names the field, never its value."""

    def __init__(self, field: str, lang: str) -> None:
        super().__init__(field)
        self.field = field
        self.lang = lang


def read_place(form: Mapping[str, str]) -> Place:
    """The language, step and category of a posted page step; PlaceError names the first one wrong."""
    lang = form.get(LANG_FIELD, "")
    if lang not in LANGUAGE_CODES:
        raise PlaceError(LANG_FIELD, DEFAULT_LANG)
    step = form.get(STEP_FIELD, "")
    if step not in STEPS:
        raise PlaceError(STEP_FIELD, lang)
    if step == HELP or step in STATUS_STEPS:
        return Place(lang, step, None)
    category = form.get(CATEGORY_FIELD, "")
    if category not in CATEGORIES:
        raise PlaceError(CATEGORY_FIELD, lang)
    return Place(lang, step, category)
