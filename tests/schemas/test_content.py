"""The content document sealed inside the envelope, and its JSON bytes."""

from __future__ import annotations

import base64
import json
from types import MappingProxyType
from typing import Any

import pytest

from schemas.content import (
    MAX_SERIALIZED_CONTENT,
    ContentError,
    RequestContent,
    content_from_json_bytes,
    content_to_json_bytes,
    dump_content,
    load_content,
)
from schemas.routing import CATEGORIES
from tests.schemas.conftest import CANARY, FULL, MINIMAL, REPLY_KEY, document


def refusal(data: Any) -> str:
    with pytest.raises(ContentError) as caught:
        load_content(data)
    return str(caught.value)


def refusal_of_bytes(data: bytes) -> str:
    with pytest.raises(ContentError) as caught:
        content_from_json_bytes(data)
    return str(caught.value)


@pytest.mark.parametrize("category", CATEGORIES)
def test_documents_round_trip(category: str) -> None:
    doc = document(category, FULL[category])
    content = load_content(doc)
    assert dump_content(content) == doc
    data = content_to_json_bytes(content)
    assert content_from_json_bytes(data) == content
    assert json.loads(data) == doc


def test_loaded_content_is_read_only() -> None:
    content = load_content(document("evacuation", FULL["evacuation"]))
    assert content.fields["children_ages"] == (4, 11)
    with pytest.raises(TypeError):
        content.fields["location"] = "elsewhere"  # type: ignore[index]


def test_json_bytes_are_canonical() -> None:
    content = load_content(document("legal_aid", MINIMAL["legal_aid"]))
    assert (
        content_to_json_bytes(content)
        == (
            '{"category":"legal_aid","fields":{"held_since":"2025-03","lawyer_present":"unknown",'
            '"person":"Анна К.","where_held":"СИЗО-1, Екатеринбург"},"v":1}'
        ).encode()
    )


@pytest.mark.parametrize("version", [0, 2, "1", 1.0, True, None])
def test_the_version_must_be_exactly_1(version: Any) -> None:
    assert refusal(document("asylum", MINIMAL["asylum"], v=version)).startswith("v: ")


def test_category_and_fields_are_required_and_checked() -> None:
    assert refusal({"v": 1, "fields": {}}) == "category: This field is required."
    assert refusal({"v": 1, "category": "asylum"}) == "fields: This field is required."
    assert (
        refusal({"category": "asylum", "fields": MINIMAL["asylum"]}) == "v: This field is required."
    )
    assert refusal(document(CANARY, {})).startswith("category: not one of: evacuation, ")
    assert CANARY not in refusal(document(CANARY, {}))
    assert (
        refusal({"v": 1, "category": "asylum", "fields": [CANARY]})
        == "fields: Must be an object of fields."
    )


def test_fields_are_checked_by_their_own_category() -> None:
    message = refusal(document("desertion", MINIMAL["asylum"]))
    assert message.startswith(
        "fields.status: Choose one of the options.; fields.situation: This field is required."
    )


def test_unknown_top_level_keys_are_refused() -> None:
    assert refusal({**document("asylum", MINIMAL["asylum"]), "attachment": CANARY}) == (
        "attachment: This field is not part of the form."
    )


def test_an_unknown_key_is_named_only_if_it_looks_like_a_field_name() -> None:
    message = refusal(document("asylum", {**MINIMAL["asylum"], f"{CANARY} lives at": 1}))
    assert message == "fields.<unnamed field>: This field is not part of the form."


def test_reply_key() -> None:
    content = load_content(document("asylum", MINIMAL["asylum"], reply_key=REPLY_KEY))
    assert content.reply_key == base64.b64decode(REPLY_KEY)
    expected = "reply_key: must be standard base64 of exactly 1216 bytes"
    short = base64.b64encode(bytes(1215)).decode()
    long = base64.b64encode(bytes(1217)).decode()
    urlsafe = REPLY_KEY.replace("+", "-").replace("/", "_")
    # Same bytes, but with non-zero unused bits in the last character.
    non_canonical = REPLY_KEY[:-3] + "B=="
    assert base64.b64decode(non_canonical) == base64.b64decode(REPLY_KEY)
    for bad in [
        short,
        long,
        urlsafe,
        non_canonical,
        REPLY_KEY + "\n",
        REPLY_KEY.rstrip("="),
        CANARY,
        7,
    ]:
        assert refusal(document("asylum", MINIMAL["asylum"], reply_key=bad)) == expected


def test_a_reply_through_haven_needs_a_reply_key() -> None:
    fields = {**MINIMAL["asylum"], "contact_channel": "haven_reply"}
    load_content(document("asylum", fields, reply_key=REPLY_KEY))
    assert refusal({"v": 1, "category": "asylum", "fields": fields}) == (
        "reply_key: required when fields.contact_channel is haven_reply"
    )


def test_content_built_by_hand_is_checked_before_it_is_serialized() -> None:
    bad = RequestContent("desertion", MappingProxyType({"unit_number": CANARY}))
    with pytest.raises(ContentError) as caught:
        content_to_json_bytes(bad)
    assert str(caught.value) == "fields.status: This field is required.; " + (
        "fields.situation: This field is required.; fields.criminal_case: This field is required.; "
        "fields.wanted_listing: This field is required.; fields.passports_held: This field is required.; and 3 more"
    )
    assert CANARY not in str(caught.value)


def test_errors_carry_paths_and_reasons() -> None:
    with pytest.raises(ContentError) as caught:
        load_content(
            document(
                "evacuation", {"location": CANARY + "\x00", "people_count": 0, "documents_held": []}
            )
        )
    assert caught.value.errors == (
        ("fields.location", "Remove invisible control characters."),
        ("fields.people_count", "Enter a number from 1 to 50."),
        ("fields.documents_held", "Choose one or more options."),
    )
    assert isinstance(caught.value, ValueError)


def test_not_a_mapping() -> None:
    assert refusal([1, 2]) == "document: must be a JSON object"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\xff\xfe{}", "not UTF-8"),
        (CANARY.encode() + b"\xc3", "not UTF-8"),
        (b"", "not valid JSON"),
        (b'{"v": 1,', "not valid JSON"),
        (b'{"v": 1} {"v": 1}', "not valid JSON"),
        (b'{"v": NaN}', "not valid JSON"),
        (b'{"v": Infinity}', "not valid JSON"),
        (b"\xef\xbb\xbf{}", "not valid JSON"),
        (b'{"v": 1' + b"0" * 5000 + b"}", "not valid JSON"),
        (b"[" * 30000 + b"]" * 30000, "not valid JSON"),
        (b'{"v": 1, "v": 1}', "a key appears twice in one object"),
        (
            b'{"v": 1, "fields": {"message": "a", "message": "b"}}',
            "a key appears twice in one object",
        ),
        (b"[]", "must be a JSON object"),
        (b'"' + CANARY.encode() + b'"', "must be a JSON object"),
        (b" " * (MAX_SERIALIZED_CONTENT + 1), f"larger than {MAX_SERIALIZED_CONTENT} bytes"),
    ],
    ids=lambda value: value[:20] if isinstance(value, bytes) else value,
)
def test_bad_bytes_are_one_content_error(data: bytes, reason: str) -> None:
    message = refusal_of_bytes(data)
    assert message == f"document: {reason}"
    assert CANARY not in message


def test_a_json_field_value_never_reaches_the_error() -> None:
    doc = document(
        "desertion", {**MINIMAL["desertion"], "current_country": CANARY, "unit_number": CANARY}
    )
    message = refusal_of_bytes(json.dumps(doc).encode())
    assert message == (
        "fields.current_country: Choose a country from the list.; fields.unit_number: This field is not part of the form."
    )


def test_the_error_does_not_chain_to_the_validation_error() -> None:
    # A traceback logged with the cause would print the submitted data.
    with pytest.raises(ContentError) as caught:
        load_content(document("desertion", {"status": CANARY}))
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__
