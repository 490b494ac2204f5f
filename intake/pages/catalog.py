"""The pages' texts: gettext catalogs (.po) in Russian, Ukrainian and English.

Read once when the app starts (haven.catalogs: babel's `read_po`, no
compiled .mo files) into a plain lookup. Message ids are the English
texts; `N_` marks such a text in Python code so that the catalog test finds it. Field labels, help,
choices and validation messages are not here: they come with the form
definitions (schemas), already in the three languages.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import resources
from importlib.abc import Traversable
from types import MappingProxyType

from haven.catalogs import N_, read_texts
from haven.catalogs import Catalog as Texts
from schemas.i18n import LANGUAGE_CODES
from schemas.messages import MESSAGES

__all__ = ["N_", "Catalog", "read_catalog"]

# The status texts the browser bundle shows (config.messages); the field
# messages (required, too_long, too_many, ...) come from schemas.messages.
BUNDLE_MESSAGES: Mapping[str, str] = MappingProxyType(
    {
        "directory_refused": N_(
            "The list of organisations could not be verified, so nothing was sent. "
            "Someone may be interfering with your connection. "
            "Try again later or from another connection."
        ),
        "sealing": N_("Encrypting your request on this phone…"),
        "working": N_(
            "Preparing to send. On a slow phone this can take a minute. Keep this page open."
        ),
        "sending": N_("Sending…"),
        "busy_retry": N_(
            "The service is busy. Your request is still here and will be sent again "
            "by itself in a moment. Keep this page open."
        ),
        "network_error": N_(
            "No connection to the service. Nothing was sent. "
            "Check your connection and press Send again."
        ),
        "refused": N_(
            "The service did not accept the request. Nothing was sent. "
            "Reload the page and try again."
        ),
        "sent": N_("Sent. Your request is encrypted and on its way to people who can help."),
        "unavailable": N_(
            "The service cannot take requests right now. Nothing was sent. Try again in a few minutes; your answers are still on this page."
        ),
        "no_recipients": N_(
            "No organisation in this network takes this kind of request for the region you chose. Nothing was sent. Choose another region, or try again later."
        ),
        "failed": N_(
            "Something went wrong on this phone and nothing was sent. Reload the page and try again."
        ),
        "receipt_making": N_(
            "Making your code phrase on this phone. On a slow phone this takes a few seconds…"
        ),
    }
)
# What the bundle calls the schemas' messages by other names.
BUNDLE_ALIASES: Mapping[str, str] = MappingProxyType({"invalid_choice": "not_a_choice"})


class Catalog(Texts):
    """The pages' texts, and the browser bundle's status texts in one language."""

    def bundle_messages(self, lang: str) -> dict[str, str]:
        """config.messages of a form page: every key the browser bundle shows, in `lang`."""
        messages = {code: texts[lang] for code, texts in MESSAGES.items()}
        for key, code in BUNDLE_ALIASES.items():
            messages[key] = MESSAGES[code][lang]
        for key, msgid in BUNDLE_MESSAGES.items():
            messages[key] = self.gettext(lang, msgid)
        return messages


def translations_dir() -> Traversable:
    return resources.files("intake") / "translations"


def read_catalog(directory: Traversable | None = None) -> Catalog:
    """Every language's catalog from `<directory>/<lang>/LC_MESSAGES/messages.po`."""
    root = directory if directory is not None else translations_dir()
    return Catalog(read_texts(root, LANGUAGE_CODES))
