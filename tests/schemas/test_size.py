"""Every field has a maximum, so the largest possible request fits the largest padding bucket."""

from __future__ import annotations

from typing import Any

import pytest

from schemas.content import MAX_SERIALIZED_CONTENT, content_to_json_bytes, load_content
from schemas.forms import form_definition
from schemas.routing import CATEGORIES
from tests.schemas.conftest import REPLY_MEMBERS


def maximal_fields(category: str, char: str) -> dict[str, Any]:
    """Every field at its largest, text made of `char`."""
    fields: dict[str, Any] = {}
    for field in form_definition(category)["fields"]:
        kind = field["type"]
        if kind in ("text", "textarea"):
            value: Any = char * field["max_length"]
        elif kind in ("integer", "year"):
            value = field["max"]
        elif kind == "integer_list":
            value = [field["max"]] * field["max_items"]
        elif kind == "choice":
            value = field["choices"][0]["value"]
        elif kind == "multi_choice":
            value = [c["value"] for c in field["choices"] if c["value"] != "none"]
        elif kind == "country":
            value = field["countries"][0]
        elif kind == "date":
            value = "2099-12-31"
        elif kind == "month":
            value = "2099-12"
        else:
            raise AssertionError(f"no maximum known for {kind}")
        fields[field["name"]] = value
    # The first contact choice is a reply through Haven, which takes no
    # handle: a channel that needs one lets the handle be at its largest too.
    fields["contact_channel"] = "signal"
    return fields


# "ж" is 2 bytes in UTF-8 (the brief's worst case for Cyrillic); '"' is
# escaped to 2 bytes; "😀" is 4 bytes, the true worst case per character.
@pytest.mark.parametrize("char", ["ж", '"', "😀"])
@pytest.mark.parametrize("category", CATEGORIES)
def test_a_maximal_request_fits_the_largest_bucket(category: str, char: str) -> None:
    fields = maximal_fields(category, char)
    assert fields["contact_channel"] == "signal"
    content = load_content({"v": 1, "category": category, "fields": fields, **REPLY_MEMBERS})
    size = len(content_to_json_bytes(content))
    assert size <= MAX_SERIALIZED_CONTENT
    # Headroom, as docs/request-categories.md promises: under 20 KiB.
    assert size < 20 * 1024


def test_the_bound_is_the_largest_bucket_less_its_length_prefix() -> None:
    assert MAX_SERIALIZED_CONTENT == 65536 - 4
