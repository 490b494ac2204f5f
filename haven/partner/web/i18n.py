"""The inbox's own texts in Russian, Ukrainian and English, and the language of a page.

The catalogs live in this package (translations/<lang>/LC_MESSAGES/messages.po),
read with haven.catalogs like the intake's. A request's own field labels
and choices are not here: they come from its category's form definition
(haven.partner.web.readable).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib import resources

from babel.dates import format_datetime, format_timedelta
from flask import Request

from haven.catalogs import Catalog, read_texts
from haven.partner.web.settings import LANGUAGES


def read_catalog() -> Catalog:
    return Catalog(read_texts(resources.files(__package__) / "translations", LANGUAGES))


def choose_language(request: Request, forced: str | None) -> str:
    if forced is not None:
        return forced
    return request.accept_languages.best_match(LANGUAGES, default="en") or "en"


def when(moment: datetime | None, lang: str) -> str:
    """A moment as a member reads it, in UTC (the server does not know the reader's zone)."""
    if moment is None:
        return ""
    return format_datetime(moment.astimezone(UTC), "d MMM y, HH:mm 'UTC'", locale=lang)


def duration(span: timedelta, lang: str) -> str:
    return format_timedelta(abs(span), threshold=1.5, locale=lang)
