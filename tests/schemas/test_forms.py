"""The form definitions are generated from the schemas and agree with them."""

from __future__ import annotations

import json
import string
from collections.abc import Iterator
from typing import Any

import pytest
from marshmallow import fields, validate

from schemas.categories import CATEGORY_SCHEMAS
from schemas.forms import all_form_definitions, form_definition
from schemas.messages import MESSAGES
from schemas.routing import CATEGORIES, LABELS

TYPES = {
    "text",
    "textarea",
    "integer",
    "integer_list",
    "choice",
    "multi_choice",
    "date",
    "month",
    "year",
    "country",
}


def three_languages(texts: Any) -> bool:
    return (
        isinstance(texts, dict)
        and set(texts) == {"ru", "uk", "en"}
        and all(isinstance(t, str) and t.strip() == t and t for t in texts.values())
    )


def by_name(category: str) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in form_definition(category)["fields"]}


def one_of(field: fields.Field[Any]) -> set[str]:
    (found,) = [v for v in field.validators if isinstance(v, validate.OneOf)]
    return {str(choice) for choice in found.choices}


@pytest.mark.parametrize("category", CATEGORIES)
def test_every_schema_field_is_in_the_form_in_order(category: str) -> None:
    form = form_definition(category)
    assert form["category"] == category
    assert form["version"] == 1
    assert three_languages(form["labels"])
    assert three_languages(form["warning"])
    assert [f["name"] for f in form["fields"]] == list(CATEGORY_SCHEMAS[category]().fields)


@pytest.mark.parametrize("category", CATEGORIES)
def test_every_field_has_labels_help_and_a_known_type(category: str) -> None:
    for field in form_definition(category)["fields"]:
        assert field["type"] in TYPES, field["name"]
        assert three_languages(field["labels"]), field["name"]
        assert three_languages(field["help"]), field["name"]
        for choice in field.get("choices", []):
            assert three_languages(choice["labels"]), (field["name"], choice["value"])


@pytest.mark.parametrize("category", CATEGORIES)
def test_limits_and_choices_match_the_schema_validators(category: str) -> None:
    form = by_name(category)
    for name, field in CATEGORY_SCHEMAS[category]().fields.items():
        described = form[name]
        assert described["required"] == field.required
        lengths = [
            v.max for v in field.validators if isinstance(v, validate.Length) and v.max is not None
        ]
        ranges = [(v.min, v.max) for v in field.validators if isinstance(v, validate.Range)]
        if described["type"] in ("text", "textarea"):
            assert [described["max_length"]] == lengths
        elif described["type"] in ("integer", "year"):
            assert [(described["min"], described["max"])] == ranges
        elif described["type"] == "integer_list":
            assert isinstance(field, fields.List)
            assert [described["max_items"]] == lengths
            inner = [
                (v.min, v.max) for v in field.inner.validators if isinstance(v, validate.Range)
            ]
            assert [(described["min"], described["max"])] == inner
        elif described["type"] == "choice":
            assert {c["value"] for c in described["choices"]} == one_of(field)
        elif described["type"] == "multi_choice":
            assert isinstance(field, fields.List)
            assert {c["value"] for c in described["choices"]} == one_of(field.inner)
            assert [described["max_items"]] == lengths == [len(described["choices"])]
        elif described["type"] == "country":
            assert set(described["countries"]) == one_of(field)
        else:
            assert described["type"] in ("date", "month")


NEGATIONS = {
    "ru": ("не ", "Не ", "без ", "Без "),
    "uk": ("не ", "Не ", "без ", "Без "),
    "en": ("No ", "no ", "Never", "not "),
}


@pytest.mark.parametrize("category", CATEGORIES)
def test_every_multi_line_field_says_what_not_to_write(category: str) -> None:
    for field in form_definition(category)["fields"]:
        if field["type"] == "textarea":
            for language, words in NEGATIONS.items():
                assert any(word in field["help"][language] for word in words), (
                    field["name"],
                    language,
                )


@pytest.mark.parametrize("category", CATEGORIES)
def test_a_reply_through_haven_is_the_first_contact_and_the_others_are_warned_about(
    category: str,
) -> None:
    """No handle to find on a searched phone: the recommended way back comes first."""
    by_name = {field["name"]: field for field in form_definition(category)["fields"]}
    channel = by_name["contact_channel"]
    assert channel["choices"][0]["value"] == "haven_reply"
    for lang, recommended in (("ru", "советуем"), ("uk", "радимо"), ("en", "recommended")):
        assert recommended in channel["choices"][0]["labels"][lang]
    # What a handle reveals, said in every language: the search, and Telegram.
    for lang, words in (
        ("ru", ("обыщут", "Telegram выдаёт властям")),
        ("uk", ("обшукають", "Telegram видає владі")),
        ("en", ("searched", "Telegram gives the authorities")),
    ):
        for word in words:
            assert word in channel["help"][lang], (lang, word)
        assert by_name["contact_handle"]["help"][lang].startswith(
            {"ru": "Не нужно", "uk": "Не потрібно", "en": "Not needed"}[lang]
        )


def test_desertion_message_warns_about_units_commanders_and_weapons() -> None:
    hint = by_name("desertion")["message"]["help"]
    assert all(word in hint["en"] for word in ("unit number", "commanders", "weapons"))
    assert all(word in hint["ru"] for word in ("номер части", "командиров", "оружии"))
    assert all(word in hint["uk"] for word in ("номер частини", "командирів", "зброю"))


def all_texts() -> Iterator[tuple[str, str]]:
    """(language, text) for every label, help, warning and message Haven shows."""

    def walk(node: Any) -> Iterator[tuple[str, str]]:
        if isinstance(node, dict):
            if set(node) == {"ru", "uk", "en"} and all(isinstance(v, str) for v in node.values()):
                yield from node.items()
            else:
                for value in node.values():
                    yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    yield from walk(all_form_definitions())
    yield from walk(LABELS)


def test_russian_and_ukrainian_are_not_mixed_up() -> None:
    # Letters only one of the two languages has: a Ukrainian text with "ы" is
    # Russian in disguise, and the other way round.
    only = {"ru": set("ыэъёЫЭЪЁ"), "uk": set("іїєґІЇЄҐ")}
    texts = list(all_texts())
    for language, text in texts:
        if language in only:
            other = "uk" if language == "ru" else "ru"
            assert not only[other] & set(text), (language, text)
    ukrainian = [text for language, text in texts if language == "uk"]
    assert sum(bool(only["uk"] & set(text)) for text in ukrainian) > len(ukrainian) // 2


def test_the_three_languages_are_different_texts() -> None:
    for form in all_form_definitions().values():
        for field in form["fields"]:
            labels = field["labels"]
            assert (
                len({labels["ru"], labels["uk"], labels["en"]}) == 3 or field["name"] == "lawyer"
            ), labels


def test_messages_cover_the_common_errors_with_the_same_placeholders() -> None:
    assert {
        "required",
        "too_long",
        "not_a_choice",
        "out_of_range",
        "too_many",
        "not_a_date",
    } <= set(MESSAGES)
    for code, texts in MESSAGES.items():
        assert three_languages(texts), code
        placeholders = [{p[1] for p in string.Formatter().parse(t) if p[1]} for t in texts.values()]
        assert placeholders[0] == placeholders[1] == placeholders[2], code
    assert form_definition("asylum")["messages"] == MESSAGES


def test_definitions_are_json_and_independent_copies() -> None:
    definitions = all_form_definitions()
    assert list(definitions) == list(CATEGORIES)
    assert json.loads(json.dumps(definitions, ensure_ascii=False)) == definitions
    definitions["evacuation"]["fields"][0]["labels"]["ru"] = "changed"
    definitions["evacuation"]["messages"]["required"]["ru"] = "changed"
    assert form_definition("evacuation") == all_form_definitions()["evacuation"]
    assert form_definition("evacuation")["fields"][0]["labels"]["ru"] != "changed"


def test_an_unknown_category_has_no_form() -> None:
    with pytest.raises(ValueError, match="unknown category"):
        form_definition("weapons")
