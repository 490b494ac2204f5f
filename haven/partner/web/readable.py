"""A request as a member reads it: each field under its label, each choice by its name.

Labels and choice names come from the category's form definition
(schemas.forms), in the member's language, so the inbox shows what the
requester was asked, never raw JSON. The members that carry the way back
to the requester (mailbox id, reply and access keys) are never shown.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from babel import Locale

from schemas.forms import form_definition
from schemas.routing import LABELS

# The thread's keys: used to answer, meaningless and risky on a screen.
HIDDEN_MEMBERS = frozenset({"reply_key", "mailbox_id", "access_hash"})


@dataclass(frozen=True)
class Row:
    name: str
    label: str
    value: str


@functools.cache
def _definition(category: str) -> Mapping[str, Any] | None:
    try:
        return form_definition(category)
    except ValueError:
        return None


@functools.cache
def _territories(lang: str) -> Mapping[str, str]:
    return dict(Locale.parse(lang).territories)


def label(kind: str, value: str, lang: str) -> str:
    """A routing label (category, region, language, urgency) by its name, or the value itself."""
    names = LABELS.get(kind, {}).get(value)
    return names.get(lang, value) if names else value


def category_name(category: str, lang: str) -> str:
    definition = _definition(category)
    return str(definition["labels"][lang]) if definition else category


def _choice(field: Mapping[str, Any], value: object, lang: str) -> str:
    if field.get("type") == "country":
        return _territories(lang).get(str(value), str(value))
    for choice in field.get("choices", ()):
        if choice["value"] == value:
            return str(choice["labels"][lang])
    return str(value)


def _value(field: Mapping[str, Any], value: object, lang: str) -> str:
    if isinstance(value, list):
        return ", ".join(_choice(field, item, lang) for item in value)
    if field.get("choices") or field.get("type") == "country":
        return _choice(field, value, lang)
    if isinstance(value, bool):
        return "✓" if value else "✗"
    return str(value)


def rows(content: Mapping[str, Any], lang: str) -> list[Row]:
    """The request's answers in the form's order; a field the form does not know keeps its name."""
    category = str(content.get("category", ""))
    answers = content.get("fields")
    if not isinstance(answers, Mapping):
        return []
    definition = _definition(category)
    fields: Sequence[Mapping[str, Any]] = definition["fields"] if definition else ()
    out: list[Row] = []
    for field in fields:
        name = field["name"]
        if name in answers and answers[name] not in (None, "", []):
            out.append(Row(name, str(field["labels"][lang]), _value(field, answers[name], lang)))
    known = {field["name"] for field in fields}
    for name, value in answers.items():
        if name not in known and name not in HIDDEN_MEMBERS:
            out.append(Row(name, name, _value({}, value, lang)))
    return out
