"""Gettext catalogs (.po) read into a plain lookup: the one home for every Haven page's texts.

The intake's pages and the partners' inbox each keep their own catalogs
(`<root>/<lang>/LC_MESSAGES/messages.po`), read once at start-up with
babel's `read_po` (no compiled .mo files). Message ids are the English
texts; a text missing in a language falls back to its English id, so a
page never shows an empty label.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from importlib.abc import Traversable

from babel.messages.pofile import read_po

DOMAIN = "messages"


def N_(msgid: str) -> str:  # noqa: N802 - the gettext convention for "translate later"
    """Mark `msgid` for the catalog; it is translated where it is shown."""
    return msgid


class Catalog:
    """msgid -> text, per language; a missing text falls back to the English msgid."""

    def __init__(self, texts: Mapping[str, Mapping[str, str]]) -> None:
        self._texts = {lang: dict(table) for lang, table in texts.items()}

    def gettext(self, lang: str, msgid: str, **values: object) -> str:
        text = self._texts.get(lang, {}).get(msgid) or msgid
        return text.format(**values) if values else text

    def msgids(self, lang: str) -> dict[str, str]:
        return dict(self._texts.get(lang, {}))


def read_texts(root: Traversable, languages: Iterable[str]) -> dict[str, dict[str, str]]:
    """Every language's translated texts from `<root>/<lang>/LC_MESSAGES/messages.po`."""
    texts: dict[str, dict[str, str]] = {}
    for lang in languages:
        with (root / lang / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as handle:
            catalog = read_po(handle, locale=lang, domain=DOMAIN)
        texts[lang] = {
            str(message.id): str(message.string)
            for message in catalog
            if message.id and isinstance(message.id, str) and isinstance(message.string, str)
        }
    return texts
