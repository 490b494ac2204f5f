"""Form definitions for the web form and the CLI, generated from the category schemas.

Labels, help and choices come from each field's `metadata`; limits and
option sets come from its validators. Nothing here is written twice, so a
form cannot ask for something the schema refuses, or offer what it rejects.
"""

from __future__ import annotations

import copy
from typing import Any

from marshmallow import fields, validate

from schemas.base import FormKind
from schemas.categories import CATEGORY_SCHEMAS
from schemas.messages import MESSAGES
from schemas.routing import CATEGORIES, CATEGORY_LABELS

FORM_VERSION = 1


def _limits(field: fields.Field[Any], item_field: fields.Field[Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for validator in field.validators:
        if isinstance(validator, validate.Length) and validator.max is not None:
            out["max_items" if isinstance(field, fields.List) else "max_length"] = validator.max
        elif isinstance(validator, validate.Range):
            out["min"], out["max"] = validator.min, validator.max
    for validator in item_field.validators if item_field is not None else ():
        if isinstance(validator, validate.Range):
            out["min"], out["max"] = validator.min, validator.max
    return out


def _options(field: fields.Field[Any]) -> list[str]:
    for validator in field.validators:
        if isinstance(validator, validate.OneOf):
            return [str(choice) for choice in validator.choices]
    return []


def _field(name: str, field: fields.Field[Any]) -> dict[str, Any]:
    if not isinstance(field, FormKind):
        raise TypeError(f"field {name} is not a form field kind")
    item_field = field.inner if isinstance(field, fields.List) else None
    described: dict[str, Any] = {
        "name": name,
        "type": field.form_type,
        "required": field.required,
        "labels": dict(field.metadata["labels"]),
        "help": dict(field.metadata["help"]),
        **_limits(field, item_field),
    }
    options = _options(item_field if item_field is not None else field)
    if field.form_type == "country":
        # Countries are named by the browser in the reader's language
        # (Intl.DisplayNames); 249 names in three languages are not kept here.
        described["countries"] = options
    elif options:
        labels = field.metadata["choice_labels"]
        described["choices"] = [
            {"value": value, "labels": dict(labels[value])} for value in options
        ]
    return described


def form_definition(category: str) -> dict[str, Any]:
    """The JSON-able form of one request category."""
    if category not in CATEGORY_SCHEMAS:
        raise ValueError(f"unknown category: not one of {', '.join(CATEGORIES)}")
    schema_class = CATEGORY_SCHEMAS[category]
    return {
        "category": category,
        "version": FORM_VERSION,
        "labels": dict(CATEGORY_LABELS[category]),
        "warning": dict(schema_class.warning),
        "fields": [_field(name, field) for name, field in schema_class().fields.items()],
        "messages": copy.deepcopy(MESSAGES),
    }


def all_form_definitions() -> dict[str, dict[str, Any]]:
    """Every category's form, in the order of CATEGORIES."""
    return {category: form_definition(category) for category in CATEGORIES}
