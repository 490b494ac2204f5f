"""Texts in the three languages Haven speaks, kept next to what they describe."""

from __future__ import annotations

from collections.abc import Mapping

LANGUAGE_CODES = ("ru", "uk", "en")

# A label is one short text per language; forms and the CLI pick by code.
Tr = Mapping[str, str]


def tr(*, ru: str, uk: str, en: str) -> dict[str, str]:
    """One text in Russian, Ukrainian and English."""
    return {"ru": ru, "uk": uk, "en": en}
