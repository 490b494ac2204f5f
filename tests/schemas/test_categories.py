"""Each request category: what it accepts, and what it refuses, field by field."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.categories import CATEGORY_SCHEMAS
from schemas.content import ContentError, load_content
from schemas.forms import form_definition
from schemas.routing import CATEGORIES
from tests.schemas.conftest import CANARY, FULL, MINIMAL, document, with_field

FIELDS = [(c, f) for c in CATEGORIES for f in form_definition(c)["fields"]]


def cases(*types: str, required: bool = False) -> list[Any]:
    """(category, form field) parameters for fields of these types (all types if none)."""
    return [
        pytest.param(c, f, id=f"{c}.{f['name']}")
        for c, f in FIELDS
        if (not types or f["type"] in types) and (f["required"] or not required)
    ]


def refusal(category: str, fields: dict[str, Any]) -> ContentError:
    with pytest.raises(ContentError) as caught:
        load_content(document(category, fields))
    return caught.value


def test_every_category_has_a_schema() -> None:
    assert tuple(CATEGORY_SCHEMAS) == CATEGORIES


@pytest.mark.parametrize("category", CATEGORIES)
@pytest.mark.parametrize("example", [MINIMAL, FULL], ids=["minimal", "full"])
def test_valid_requests_load(category: str, example: dict[str, dict[str, Any]]) -> None:
    content = load_content(document(category, example[category]))
    assert content.category == category
    assert {
        k: list(v) if isinstance(v, tuple) else v for k, v in content.fields.items()
    } == example[category]


def test_full_examples_use_every_field() -> None:
    for category in CATEGORIES:
        # The asylum example replies through Haven, which takes no handle.
        used = set(FULL[category]) | {"contact_handle"}
        assert used == set(CATEGORY_SCHEMAS[category]().fields), category


# What DESIGN.md says never to ask: it would endanger the requester or others
# if a phone or a partner's laptop were seized.
NEVER_ASKED = {
    "evacuation": ["address", "street", "document_scan", "helpers", "helper_names"],
    "legal_aid": ["what_happened", "accusation", "others", "co_defendants"],
    "desertion": [
        "unit_number",
        "unit",
        "commander",
        "commanders",
        "coordinates",
        "photos",
        "weapons",
    ],
    "political_prisoner": ["case_details", "others", "co_defendants"],
    "asylum": ["evidence", "documents", "attachment", "attachments"],
}


@pytest.mark.parametrize("category", CATEGORIES)
def test_what_is_never_asked_is_refused(category: str) -> None:
    declared = set(CATEGORY_SCHEMAS[category]().fields)
    for name in NEVER_ASKED[category] + ["attachment", "photo", "file"]:
        assert name not in declared
        error = refusal(category, {**FULL[category], name: CANARY})
        assert f"fields.{name}: " in str(error)
        assert CANARY not in str(error)


@pytest.mark.parametrize(("category", "field"), cases(required=True))
def test_a_missing_required_field_is_named(category: str, field: dict[str, Any]) -> None:
    fields = dict(MINIMAL[category])
    del fields[field["name"]]
    assert str(refusal(category, fields)) == f"fields.{field['name']}: This field is required."


@pytest.mark.parametrize(("category", "field"), cases())
def test_null_is_refused(category: str, field: dict[str, Any]) -> None:
    assert f"fields.{field['name']}: " in str(
        refusal(category, with_field(category, field["name"], None))
    )


@pytest.mark.parametrize(("category", "field"), cases("text", "textarea"))
def test_strings_up_to_their_maximum_load_and_longer_ones_do_not(
    category: str, field: dict[str, Any]
) -> None:
    name, limit = field["name"], field["max_length"]
    load_content(document(category, with_field(category, name, "ж" * limit)))
    error = refusal(category, with_field(category, name, CANARY + "ж" * limit))
    assert str(error) == f"fields.{name}: At most {limit} characters."


CONTROL = [
    "\x00",
    "\x07",
    "\x1b[2J",
    "\t",
    "\r",
    "\x7f",
    "\x85",
    "\u202e",
    "\u2066",
    "\u200f",
    "\u2028",
    "\ud800",
]


@pytest.mark.parametrize(("category", "field"), cases("text", "textarea"))
@pytest.mark.parametrize("char", CONTROL, ids=repr)
def test_control_characters_are_refused(category: str, field: dict[str, Any], char: str) -> None:
    error = refusal(category, with_field(category, field["name"], f"{CANARY}{char}x"))
    assert str(error) == f"fields.{field['name']}: Remove invisible control characters."


@pytest.mark.parametrize(("category", "field"), cases("text"))
def test_single_line_fields_refuse_a_line_break(category: str, field: dict[str, Any]) -> None:
    error = refusal(category, with_field(category, field["name"], f"{CANARY}\nx"))
    assert str(error) == f"fields.{field['name']}: Must be a single line."


@pytest.mark.parametrize(("category", "field"), cases("textarea"))
def test_multi_line_fields_take_line_feeds(category: str, field: dict[str, Any]) -> None:
    load_content(document(category, with_field(category, field["name"], "первая строка\nвторая")))


@pytest.mark.parametrize(("category", "field"), cases("text", "textarea"))
@pytest.mark.parametrize("blank", ["", "   ", "\n"], ids=repr)
def test_blank_strings_are_refused(category: str, field: dict[str, Any], blank: str) -> None:
    assert f"fields.{field['name']}: " in str(
        refusal(category, with_field(category, field["name"], blank))
    )


def test_emoji_and_joiners_are_text() -> None:
    load_content(document("evacuation", with_field("evacuation", "message", "Спасибо 🙏🏽 👨‍👩‍👧")))


@pytest.mark.parametrize(
    ("category", "field"), cases("text", "textarea", "date", "month", "choice", "country")
)
@pytest.mark.parametrize("value", [42, ["x"], {"x": 1}, True], ids=repr)
def test_string_fields_refuse_other_json_types(
    category: str, field: dict[str, Any], value: Any
) -> None:
    assert f"fields.{field['name']}: " in str(
        refusal(category, with_field(category, field["name"], value))
    )


@pytest.mark.parametrize(("category", "field"), cases("choice"))
def test_choices_refuse_values_outside_the_list(category: str, field: dict[str, Any]) -> None:
    for choice in field["choices"]:
        load_content(document(category, with_field(category, field["name"], choice["value"])))
    error = refusal(category, with_field(category, field["name"], CANARY))
    assert str(error) == f"fields.{field['name']}: Choose one of the options."


@pytest.mark.parametrize(("category", "field"), cases("country"))
def test_countries_are_iso_codes_from_the_list(category: str, field: dict[str, Any]) -> None:
    for code in field["countries"]:
        load_content(document(category, with_field(category, field["name"], code)))
    for bad in [CANARY, "ge", "XK", "Georgia", "GEO"]:
        error = refusal(category, with_field(category, field["name"], bad))
        assert str(error) == f"fields.{field['name']}: Choose a country from the list."


def test_first_eu_country_is_a_dublin_state() -> None:
    load_content(document("asylum", with_field("asylum", "first_eu_country", "CH")))
    assert "first_eu_country" in str(
        refusal("asylum", with_field("asylum", "first_eu_country", "GB"))
    )


@pytest.mark.parametrize(("category", "field"), cases("multi_choice"))
def test_multi_choices(category: str, field: dict[str, Any]) -> None:
    name = field["name"]
    values = [c["value"] for c in field["choices"] if c["value"] != "none"]
    load_content(document(category, with_field(category, name, values)))
    prefix = f"fields.{name}"
    assert str(refusal(category, with_field(category, name, [values[0], CANARY]))) == (
        f"{prefix}[1]: Choose one of the options."
    )
    assert str(refusal(category, with_field(category, name, [values[0], values[0]]))) == (
        f"{prefix}: Each option can be chosen only once."
    )
    assert (
        str(refusal(category, with_field(category, name, [])))
        == f"{prefix}: Choose one or more options."
    )
    assert (
        str(refusal(category, with_field(category, name, values[0])))
        == f"{prefix}: Choose one or more options."
    )
    if "none" in [c["value"] for c in field["choices"]]:
        load_content(document(category, with_field(category, name, ["none"])))
        assert "cannot be combined" in str(
            refusal(category, with_field(category, name, ["none", values[0]]))
        )


@pytest.mark.parametrize(("category", "field"), cases("integer", "year"))
def test_integers_within_their_bounds(category: str, field: dict[str, Any]) -> None:
    name, low, high = field["name"], field["min"], field["max"]
    for good in (low, high):
        load_content(document(category, with_field(category, name, good)))
    expected = f"fields.{name}: Enter a number from {low} to {high}."
    for bad in (low - 1, high + 1, 10**30):
        assert str(refusal(category, with_field(category, name, bad))) == expected
    for wrong_type in (str(low), float(low), True, CANARY):
        error = refusal(category, with_field(category, name, wrong_type))
        assert str(error) == f"fields.{name}: Enter a whole number."
        assert CANARY not in str(error)


def test_children_ages() -> None:
    load_content(document("evacuation", with_field("evacuation", "children_ages", [])))
    load_content(document("evacuation", with_field("evacuation", "children_ages", [0, 0, 17])))
    assert str(refusal("evacuation", with_field("evacuation", "children_ages", [3, 18]))) == (
        "fields.children_ages[1]: Enter a number from 0 to 17."
    )
    assert str(refusal("evacuation", with_field("evacuation", "children_ages", [3] * 21))) == (
        "fields.children_ages: At most 20."
    )
    assert str(
        refusal(
            "evacuation", {**MINIMAL["evacuation"], "people_count": 2, "children_ages": [1, 2, 3]}
        )
    ) == ("fields.children_ages: There cannot be more children than people.")


@pytest.mark.parametrize(
    "value",
    [
        "2026-2-01",
        "2026-02-30",
        "26-02-01",
        "2026/02/01",
        "2026-02-01T00:00",
        "0202-02-01",
        "２０２６-02-01",
    ],
)
def test_dates_are_real_days_written_yyyy_mm_dd(value: str) -> None:
    load_content(document("legal_aid", with_field("legal_aid", "next_hearing", "2028-02-29")))
    assert str(refusal("legal_aid", with_field("legal_aid", "next_hearing", value))) == (
        "fields.next_hearing: Enter a date as YYYY-MM-DD."
    )


@pytest.mark.parametrize(
    "value", ["2026-13", "2026-00", "2026-1", "2026-01-01", "1989-12", "2026-01\n"]
)
def test_months_are_written_yyyy_mm(value: str) -> None:
    assert str(refusal("legal_aid", with_field("legal_aid", "held_since", value))) == (
        "fields.held_since: Enter a month as YYYY-MM."
    )


@pytest.mark.parametrize("category", CATEGORIES)
def test_contact_channel_and_handle_go_together(category: str) -> None:
    fields = MINIMAL[category]
    assert str(refusal(category, {**fields, "contact_handle": "x"})) == (
        "fields.contact_channel: Choose a way to contact you first."
    )
    assert str(refusal(category, {**fields, "contact_channel": "signal"})) == (
        "fields.contact_handle: Write your address or username for this channel."
    )
    error = refusal(
        category, {**fields, "contact_channel": "haven_reply", "contact_handle": CANARY}
    )
    assert str(error) == "fields.contact_handle: A reply through Haven needs no address."
    assert CANARY not in str(error)


def test_all_errors_are_reported_and_none_echo_the_value() -> None:
    fields = {
        "status": CANARY,
        "situation": CANARY,
        "criminal_case": CANARY,
        "wanted_listing": CANARY,
        "passports_held": [CANARY],
        "current_country": CANARY,
        "needs": CANARY,
        "message": CANARY * 300,
    }
    error = refusal("desertion", fields)
    assert CANARY not in str(error)
    assert str(error).endswith("; and 3 more")
    assert [path for path, _ in error.errors] == [
        "fields.status",
        "fields.situation",
        "fields.criminal_case",
        "fields.wanted_listing",
        "fields.passports_held[0]",
        "fields.current_country",
        "fields.needs",
        "fields.message",
    ]
    assert all(CANARY not in reason for _, reason in error.errors)
