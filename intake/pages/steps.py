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
STEPS = (HELP, FORM, REVIEW, EDIT, SEND)
# The fields of the body that say where the requester is.
LANG_FIELD, STEP_FIELD, CATEGORY_FIELD = "lang", "step", "category"
DEFAULT_LANG = "ru"


@dataclass(frozen=True)
class Place:
    lang: str
    step: str
    # None only on the help step, where the category is being chosen.
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
    if step == HELP:
        return Place(lang, step, None)
    category = form.get(CATEGORY_FIELD, "")
    if category not in CATEGORIES:
        raise PlaceError(CATEGORY_FIELD, lang)
    return Place(lang, step, category)
