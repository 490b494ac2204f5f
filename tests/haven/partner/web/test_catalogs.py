"""The inbox's texts: every one the pages and views use is in Russian, Ukrainian and English."""

from __future__ import annotations

import re

from babel.messages.extract import extract_from_dir

from haven.partner.web.i18n import read_catalog
from haven.partner.web.settings import LANGUAGES
from tests.repo import REPO

WEB = REPO / "haven" / "partner" / "web"


def _extracted_msgids() -> set[str]:
    keywords = {"_": None, "N_": None, "gettext": None}
    return {
        message
        for _, _, message, _, _ in extract_from_dir(
            str(WEB),
            method_map=[("**/templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")],
            keywords=keywords,
        )
        if isinstance(message, str)
    }


def test_every_inbox_text_is_translated_in_every_language() -> None:
    catalog = read_catalog()
    used = _extracted_msgids()
    assert len(used) > 50
    for lang in LANGUAGES:
        texts = catalog.msgids(lang)
        missing = sorted(msgid for msgid in used if not texts.get(msgid, "").strip())
        assert not missing, (lang, missing)
        for msgid, text in texts.items():
            assert set(re.findall(r"\{\w+\}", msgid)) == set(re.findall(r"\{\w+\}", text))
    assert set(catalog.msgids("ru")) == set(catalog.msgids("uk")) == set(catalog.msgids("en"))
    assert set(catalog.msgids("ru")) == used
    assert catalog.gettext("ru", "Lock") != "Lock" and catalog.gettext("uk", "Lock") != "Lock"
