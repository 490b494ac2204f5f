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
from tests.schemas.conftest import (
    ACCESS_HASH,
    CANARY,
    FULL,
    MAILBOX_ID,
    MINIMAL,
    REPLY_KEY,
    REPLY_MEMBERS,
    document,
)


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
    content = load_content(document("asylum", MINIMAL["asylum"], **REPLY_MEMBERS))
    assert content.reply_key == base64.b64decode(REPLY_KEY)
    assert content.mailbox_id == base64.b64decode(MAILBOX_ID)
    assert content.access_hash == base64.b64decode(ACCESS_HASH)
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
        doc = document("asylum", MINIMAL["asylum"], **{**REPLY_MEMBERS, "reply_key": bad})
        assert refusal(doc) == expected


@pytest.mark.parametrize("name", ["mailbox_id", "access_hash"])
def test_mailbox_id_and_access_hash_are_32_bytes_of_canonical_base64(name: str) -> None:
    expected = f"{name}: must be standard base64 of exactly 32 bytes"
    good = REPLY_MEMBERS[name]
    for bad in [
        base64.b64encode(bytes(31)).decode(),
        base64.b64encode(bytes(33)).decode(),
        base64.b64encode(bytes([0xFB]) * 32).decode().replace("+", "-").replace("/", "_"),
        good.rstrip("="),
        good[:-2] + "B=",
        good + "\n",
        bytes(32).hex(),
        CANARY,
        7,
    ]:
        doc = document("asylum", MINIMAL["asylum"], **{**REPLY_MEMBERS, name: bad})
        message = refusal(doc)
        assert message == expected, bad
        assert CANARY not in message
    doc = document("asylum", MINIMAL["asylum"], **{**REPLY_MEMBERS, name: None})
    assert refusal(doc) == f"{name}: must not be null"


def test_a_reply_through_haven_needs_all_three_reply_members() -> None:
    fields = {**MINIMAL["asylum"], "contact_channel": "haven_reply"}
    content = load_content(document("asylum", fields, **REPLY_MEMBERS))
    assert dump_content(content) == document("asylum", fields, **REPLY_MEMBERS)
    assert refusal({"v": 1, "category": "asylum", "fields": fields}) == (
        "reply_key: required when fields.contact_channel is haven_reply"
    )
    for name in REPLY_MEMBERS:
        partial = {k: v for k, v in REPLY_MEMBERS.items() if k != name}
        assert refusal({"v": 1, "category": "asylum", "fields": fields, **partial}) == (
            f"{name}: required when fields.contact_channel is haven_reply"
        )


def test_the_reply_members_go_together() -> None:
    # Another channel may carry them (a device that made a code anyway),
    # but never one or two: a partner could not write back with a part.
    fields = {**MINIMAL["asylum"], "contact_channel": "signal", "contact_handle": "someone.01"}
    load_content(document("asylum", fields, **REPLY_MEMBERS))
    load_content(document("asylum", fields))
    for name in REPLY_MEMBERS:
        alone = {name: REPLY_MEMBERS[name]}
        message = refusal(document("asylum", fields, **alone))
        first_missing = next(n for n in REPLY_MEMBERS if n != name)
        assert message == (
            f"{first_missing}: reply_key, mailbox_id and access_hash go together: all three or none"
        )


def test_the_reply_members_round_trip_through_json_bytes() -> None:
    fields = {**MINIMAL["asylum"], "contact_channel": "haven_reply"}
    content = load_content(document("asylum", fields))
    data = content_to_json_bytes(content)
    assert json.loads(data)["mailbox_id"] == MAILBOX_ID
    assert content_from_json_bytes(data) == content


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
