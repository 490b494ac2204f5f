from __future__ import annotations

import re

import pytest

from schemas.routing import (
    CATEGORIES,
    LABEL_PATTERN,
    LABELS,
    LANGUAGES,
    REGIONS,
    URGENCIES,
    Routing,
    RoutingSchema,
)
from tests.schemas.conftest import CANARY

VALID = {"category": "desertion", "region": "ru-volga", "language": "uk", "urgency": "urgent"}
ENUMERATIONS = {
    "category": CATEGORIES,
    "region": REGIONS,
    "language": LANGUAGES,
    "urgency": URGENCIES,
}


def test_the_enumerations() -> None:
    assert CATEGORIES == ("evacuation", "legal_aid", "desertion", "political_prisoner", "asylum")
    assert LANGUAGES == ("ru", "uk", "en")
    assert URGENCIES == ("normal", "urgent")
    assert {
        "ru-central",
        "ua-occupied",
        "by",
        "abroad-caucasus",
        "abroad-eu",
        "undisclosed",
    } <= set(REGIONS)


@pytest.mark.parametrize("name", ENUMERATIONS)
def test_every_token_fits_the_envelope_label_alphabet(name: str) -> None:
    tokens = ENUMERATIONS[name]
    assert len(set(tokens)) == len(tokens)
    for token in tokens:
        assert re.fullmatch(LABEL_PATTERN, token), token


@pytest.mark.parametrize("name", ENUMERATIONS)
def test_every_token_has_labels_in_three_languages(name: str) -> None:
    assert tuple(LABELS[name]) == ENUMERATIONS[name]
    for labels in LABELS[name].values():
        assert set(labels) == {"ru", "uk", "en"}
        assert all(text.strip() for text in labels.values())


def test_loads_into_routing_and_dumps_back() -> None:
    routing = RoutingSchema().load(VALID)
    assert routing == Routing("desertion", "ru-volga", "uk", "urgent")
    assert RoutingSchema().dump(routing) == VALID


@pytest.mark.parametrize("name", ENUMERATIONS)
def test_a_value_outside_the_enumeration_is_refused_without_echo(name: str) -> None:
    errors = RoutingSchema().validate({**VALID, name: CANARY})
    assert list(errors) == [name]
    assert CANARY not in str(errors)


@pytest.mark.parametrize("name", ENUMERATIONS)
def test_every_label_is_required(name: str) -> None:
    data = dict(VALID)
    del data[name]
    assert list(RoutingSchema().validate(data)) == [name]


def test_unknown_fields_and_non_strings_are_refused() -> None:
    assert "city" in RoutingSchema().validate({**VALID, "city": "Kazan"})
    assert "category" in RoutingSchema().validate({**VALID, "category": b"desertion"})
    assert "urgency" in RoutingSchema().validate({**VALID, "urgency": None})


def test_a_region_finer_than_a_macro_region_is_refused() -> None:
    assert "region" in RoutingSchema().validate({**VALID, "region": "moscow"})
