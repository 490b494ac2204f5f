"""JSON Schema (2020-12) documents of the marshmallow schemas, for partners in other languages.

apispec's marshmallow converter does the work: OpenAPI 3.1 schema objects are
JSON Schema 2020-12, so types, nesting, required fields, unknown fields,
enumerations, lengths, ranges and patterns come from it. This module adds
only what it cannot see: Haven's own field kinds (exact-size base64, UTC
times), validator functions (text, dates, distinct items), the rules
between fields (`@validates_schema`), the choice of a category's fields by
`category`, and each document's header. A validator or rule it does not
know stops the export: nothing marshmallow enforces is left out unnoticed.
What JSON Schema cannot say is written in the document's description.
"""

from __future__ import annotations

import inspect
import json
import sys
from collections.abc import Callable, Mapping
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow.openapi import OpenAPIConverter
from marshmallow import Schema, fields, validate

from schemas.base import Base64Bytes
from schemas.categories import CATEGORY_SCHEMAS, CategorySchema
from schemas.categories.common import CHANNELS_WITH_HANDLE
from schemas.content import REPLY_MEMBERS, RequestContentSchema
from schemas.directory import TIME_PATTERN, DirectoryPayloadSchema, UtcTime, distinct, https_url
from schemas.http import SubmissionSchema
from schemas.routing import CATEGORY_LABELS, RoutingSchema
from schemas.validators import (
    BASE64_PATTERN,
    DATE_PATTERN,
    MONTH_PATTERN,
    NOT_BLANK_PATTERN,
    REFUSED_IN_LINE_PATTERN,
    REFUSED_IN_TEXT_PATTERN,
    iso_date,
    iso_month,
    multi_line,
    none_alone,
    single_line,
    unique_items,
)

DIALECT = "https://json-schema.org/draft/2020-12/schema"
# A name, never fetched: `.invalid` cannot resolve (RFC 2606). The files ship
# in the repository and the `schemas` package (schemas/json/).
ID_BASE = "https://haven.invalid/schemas/json/"

# Validators apispec converts itself (enum, const, min/max, lengths, pattern).
_CONVERTED_BY_APISPEC = (
    validate.Length,
    validate.Range,
    validate.OneOf,
    validate.Equal,
    validate.Regexp,
)

# Definitions shared by the documents: each document carries in `$defs` the
# ones it uses, and common.schema.json carries them all (the web form reads
# them there).
DEFINITIONS: dict[str, dict[str, Any]] = {
    "single_line_text": {
        "type": "string",
        "not": {"pattern": REFUSED_IN_LINE_PATTERN},
        "pattern": NOT_BLANK_PATTERN,
        "description": "One line of printable text, not blank: no control characters, "
        "no Unicode line or paragraph separators, no bidirectional controls.",
    },
    "multi_line_text": {
        "type": "string",
        "not": {"pattern": REFUSED_IN_TEXT_PATTERN},
        "pattern": NOT_BLANK_PATTERN,
        "description": "Printable text, not blank; lines end with a line feed (LF), never "
        "CR LF. Otherwise as single_line_text.",
    },
    "date": {
        "type": "string",
        "format": "date",
        "pattern": DATE_PATTERN,
        "description": "A calendar day, YYYY-MM-DD, in the years 1990 to 2099.",
    },
    "month": {
        "type": "string",
        "pattern": MONTH_PATTERN,
        "description": "A month, YYYY-MM, in the years 1990 to 2099.",
    },
    "channels_with_handle": {
        "enum": sorted(CHANNELS_WITH_HANDLE),
        "description": "The contact channels that need a contact_handle.",
    },
}


def _ref(definition: str) -> dict[str, Any]:
    return {"$ref": f"#/$defs/{definition}"}


# Haven's validator functions, as JSON Schema keywords.
_VALIDATOR_KEYWORDS: dict[Callable[..., Any], dict[str, Any]] = {
    single_line: _ref("single_line_text"),
    multi_line: _ref("multi_line_text"),
    iso_date: _ref("date"),
    iso_month: _ref("month"),
    unique_items: {"uniqueItems": True},
    distinct: {"uniqueItems": True},
    none_alone: {"if": {"contains": {"const": "none"}}, "then": {"maxItems": 1}},
    # Only the scheme: the host, credentials and fragment rules need a URL parser.
    https_url: {"format": "uri", "pattern": "^https://"},
}

# What each validator leaves to Haven's own check, said once per document.
_VALIDATOR_NOTES: dict[Callable[..., Any], str] = {
    single_line: "Text may not hold lone surrogates (U+D800 to U+DFFF).",
    multi_line: "Text may not hold lone surrogates (U+D800 to U+DFFF).",
    iso_date: "A date must be a day that exists (no 2025-02-30): only a validator that "
    "asserts format (date) checks it.",
    https_url: "A webhook URL has a host, and no user name, password or fragment.",
}

_CONTACT_RULES: dict[str, Any] = {
    "dependentRequired": {"contact_handle": ["contact_channel"]},
    "allOf": [
        {
            "if": {
                "properties": {"contact_channel": _ref("channels_with_handle")},
                "required": ["contact_channel"],
            },
            "then": {"required": ["contact_handle"]},
        },
        {
            "if": {
                "properties": {"contact_channel": {"const": "haven_reply"}},
                "required": ["contact_channel"],
            },
            "then": {"not": {"required": ["contact_handle"]}},
        },
    ],
}

# Every `@validates_schema` rule, by "Class.method": its keywords, or the
# sentence that says it is checked by Haven only.
_SCHEMA_RULES: dict[str, dict[str, Any] | str] = {
    "CategorySchema._contact_is_complete": _CONTACT_RULES,
    "EvacuationSchema._children_are_people": (
        "fields.children_ages lists at most fields.people_count ages."
    ),
    "_DeliverySchema._url_matches_kind": {
        "allOf": [
            {
                "if": {"properties": {"kind": {"const": "webhook"}}},
                "then": {"required": ["url"]},
            },
            {
                "if": {"properties": {"kind": {"const": "queue"}}},
                "then": {"not": {"required": ["url"]}},
            },
        ]
    },
    "_DeadlineSchema._urgent_is_sooner": (
        "A partner's response_deadline.urgent is at most its response_deadline.normal."
    ),
    "DirectoryPayloadSchema._consistent": (
        "expires_at is after issued_at; no two partners share an id, and no two keys a kid."
    ),
}

_INTEGER_NOTE = (
    "Integers are JSON integers written without a fraction: JSON Schema also counts 5.0 "
    "as an integer, Haven refuses it."
)
_TIME_NOTE = (
    "A time must exist (no 2026-02-30T10:00:00Z): only a validator that asserts format "
    "(date-time) checks it."
)
_BASE64_NOTE = "Base64 is canonical: decoded and encoded again, it gives the same text."


class ExportError(Exception):
    """A schema holds something this export cannot put into JSON Schema."""


class Converter:
    """apispec's converter with Haven's keywords; collects what JSON Schema cannot say."""

    def __init__(self) -> None:
        spec = APISpec(title="Haven", version="1", openapi_version="3.1.0")
        # No resolver name: nested schemas are written in place, so each
        # document stands alone and needs no other file to be read.
        self._apispec = OpenAPIConverter(
            openapi_version="3.1.0", schema_name_resolver=lambda schema: None, spec=spec
        )

        # apispec binds an attribute function to its own converter; this one
        # forwards to ours, which holds the document's notes.
        def field_keywords(
            apispec_converter: OpenAPIConverter, field: fields.Field[Any], ret: dict[str, Any]
        ) -> dict[str, Any]:
            return self._field_keywords(field, ret)

        # apispec's converter methods are untyped; the dicts they give are checked by the tests.
        self._apispec.add_attribute_function(field_keywords)  # type: ignore[no-untyped-call]
        self.notes: list[str] = []

    def schema(self, schema: type[Schema]) -> dict[str, Any]:
        converted: dict[str, Any] = self._apispec.schema2jsonschema(schema)  # type: ignore[no-untyped-call]
        self._add_rules(schema, converted)
        return converted

    def _note(self, note: str) -> None:
        if note not in self.notes:
            self.notes.append(note)

    def _add_rules(self, schema: type[Schema], converted: dict[str, Any]) -> None:
        for name, _many, _options in schema._hooks["validates_schema"]:
            owner = next(cls for cls in schema.__mro__ if name in vars(cls))
            key = f"{owner.__qualname__}.{name}"
            if key not in _SCHEMA_RULES:
                raise ExportError(f"{schema.__name__}: no JSON Schema for the rule {key}")
            rule = _SCHEMA_RULES[key]
            if isinstance(rule, str):
                self._note(rule)
            else:
                _merge(converted, rule, where=key)

    # apispec calls this for every field, after its own attribute functions.
    def _field_keywords(self, field: fields.Field[Any], ret: dict[str, Any]) -> dict[str, Any]:
        labels = field.metadata.get("labels")
        if labels is not None:
            # A form field: its English label and help (schemas/base.py).
            _merge(ret, {"title": labels["en"], "description": field.metadata["help"]["en"]})
        if isinstance(field, Base64Bytes):
            length = 4 * -(-field.size // 3)
            _merge(ret, {"minLength": length, "maxLength": length, "format": "byte"})
        if ret.get("format") == "byte":
            # OpenAPI's "byte" is JSON Schema's contentEncoding.
            del ret["format"]
            ret.setdefault("pattern", BASE64_PATTERN)
            _merge(ret, {"contentEncoding": "base64"})
            self._note(_BASE64_NOTE)
        if isinstance(field, fields.Integer) and field.strict:
            self._note(_INTEGER_NOTE)
        if isinstance(field, UtcTime):
            _merge(ret, {"format": "date-time", "pattern": TIME_PATTERN})
            self._note(_TIME_NOTE)
        if isinstance(field, fields.Nested) and isinstance(field.schema, Schema):
            self._add_rules(type(field.schema), ret)
        for validator in field.validators:
            if isinstance(validator, _CONVERTED_BY_APISPEC):
                continue
            keywords = _VALIDATOR_KEYWORDS.get(validator)
            if keywords is None:
                raise ExportError(f"{field.name}: no JSON Schema for the validator {validator!r}")
            _merge(ret, keywords, where=str(field.name))
            if validator in _VALIDATOR_NOTES:
                self._note(_VALIDATOR_NOTES[validator])
        return {}


def _merge(target: dict[str, Any], keywords: Mapping[str, Any], *, where: str = "") -> None:
    for key, value in keywords.items():
        if key == "allOf":
            target.setdefault("allOf", []).extend(value)
        elif key in target and target[key] != value:
            raise ExportError(f"{where}: two rules set {key}")
        else:
            target[key] = value


def _document(
    name: str, title: str, description: str, body: dict[str, Any], converter: Converter
) -> dict[str, Any]:
    notes = "\n".join(f"- {note}" for note in converter.notes)
    document = {
        "$schema": DIALECT,
        "$id": ID_BASE + name,
        "title": title,
        "description": _reflow(description)
        + (f"\n\nChecked by Haven, not expressible in JSON Schema:\n{notes}" if notes else ""),
        **body,
    }
    used = _definitions_used(body)
    if used:
        document["$defs"] = {name: DEFINITIONS[name] for name in sorted(used)}
    return document


def _definitions_used(node: object) -> set[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        found = {ref.removeprefix("#/$defs/")} if isinstance(ref, str) else set()
        return found.union(*(_definitions_used(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_definitions_used(value) for value in node))
    return set()


def _reflow(text: str) -> str:
    """Docstring paragraphs on one line each; indented (example) lines stay as they are."""
    paragraphs = []
    for paragraph in text.split("\n\n"):
        lines = paragraph.split("\n")
        indented = any(line.startswith(" ") for line in lines)
        paragraphs.append(paragraph if indented else " ".join(lines))
    return "\n\n".join(paragraphs)


def _docstring(obj: object) -> str:
    return inspect.getdoc(obj) or ""


def _content_body(converter: Converter, category: str | None) -> dict[str, Any]:
    """The content document; one category's, or any category's chosen by `category`."""
    body = converter.schema(RequestContentSchema)
    categories = [category] if category is not None else list(CATEGORY_SCHEMAS)
    choices = {name: converter.schema(CATEGORY_SCHEMAS[name]) for name in categories}
    if category is not None:
        body["properties"]["category"] = {"const": category, "type": "string"}
        body["properties"]["fields"] = choices[category]
    else:
        # RequestContentSchema loads `fields` by the schema of `category` (post_load).
        body["allOf"] = [
            {
                "if": {"properties": {"category": {"const": name}}, "required": ["category"]},
                "then": {"properties": {"fields": fields_schema}},
            }
            for name, fields_schema in choices.items()
        ]
    # RequestContentSchema's post_load: a reply through Haven is sealed to
    # reply_key and written to mailbox_id; the three reply members go together.
    body.setdefault("allOf", []).append(
        {
            "if": {
                "properties": {
                    "fields": {
                        "properties": {"contact_channel": {"const": "haven_reply"}},
                        "required": ["contact_channel"],
                    }
                },
                "required": ["fields"],
            },
            "then": {"required": list(REPLY_MEMBERS)},
        }
    )
    body["dependentRequired"] = {
        name: [other for other in REPLY_MEMBERS if other != name] for name in REPLY_MEMBERS
    }
    return body


def _content(category: str | None) -> tuple[str, dict[str, Any]]:
    converter = Converter()
    body = _content_body(converter, category)
    content_doc = _docstring(sys.modules[RequestContentSchema.__module__])
    if category is None:
        return "content.schema.json", _document(
            "content.schema.json",
            "Haven request content (any category)",
            content_doc,
            body,
            converter,
        )
    schema: type[CategorySchema] = CATEGORY_SCHEMAS[category]
    name = f"content-{category}.schema.json"
    description = "\n\n".join(
        (
            _docstring(sys.modules[schema.__module__]),
            f"Shown above the form: {schema.warning['en']}",
            content_doc,
        )
    )
    title = f"Haven request content: {CATEGORY_LABELS[category]['en']}"
    return name, _document(name, title, description, body, converter)


def _single(
    name: str, title: str, schema: type[Schema], description: str, *notes: str
) -> tuple[str, dict[str, Any]]:
    converter = Converter()
    body = converter.schema(schema)
    converter.notes.extend(notes)
    return name, _document(name, title, description, body, converter)


def _common() -> tuple[str, dict[str, Any]]:
    name = "common.schema.json"
    description = (
        "The definitions Haven's documents share: text, dates, contact channels. Each "
        "document carries the ones it uses in its own $defs, so that it stands alone; this "
        "one holds them all, for a client that checks one field at a time (the web form)."
    )
    converter = Converter()
    converter.notes.extend(_VALIDATOR_NOTES[check] for check in (single_line, iso_date))
    document = _document(name, "Haven shared definitions", description, {}, converter)
    document["$defs"] = DEFINITIONS
    return name, document


def documents() -> dict[str, dict[str, Any]]:
    """Every document by file name, in a fixed order."""
    return dict(
        [
            _common(),
            _content(None),
            *(_content(category) for category in CATEGORY_SCHEMAS),
            _single(
                "routing.schema.json",
                "Haven routing labels",
                RoutingSchema,
                _docstring(sys.modules[RoutingSchema.__module__]),
            ),
            _single(
                "directory.schema.json",
                "Haven partner directory payload",
                DirectoryPayloadSchema,
                _docstring(sys.modules[DirectoryPayloadSchema.__module__]),
            ),
            _single(
                "submission.schema.json",
                "Haven submission (POST /v1/requests)",
                SubmissionSchema,
                _docstring(SubmissionSchema) + "\n\n" + "See docs/intake-api.md.",
                "routing equals the labels inside the envelope, whose structure the intake "
                "checks too (docs/envelope-v1.md).",
            ),
        ]
    )


def render(document: Mapping[str, Any]) -> bytes:
    """One spelling per document: sorted keys, two-space indent, UTF-8, a final newline."""
    return (json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()
