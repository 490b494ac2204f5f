"""schemas/json/: committed as generated, valid JSON Schema, and as strict as marshmallow where it can be.

Each known-bad document below is refused by both: a partner validating with
the JSON Schema alone refuses what Haven refuses. Where JSON Schema cannot
follow (rules between values), the document's description says so, and a
test pins that it does.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import jsonschema
import pytest
import regress
from jsonschema.protocols import Validator
from marshmallow import ValidationError

from haven.cli.schema_export import DIALECT, ID_BASE, documents, render
from haven.cli.schemas_cmd import DEFAULT_DIR
from schemas.content import ContentError, load_content
from schemas.directory import DirectoryFormatError, load_directory_payload
from schemas.http import SubmissionSchema
from schemas.routing import RoutingSchema
from tests.repo import REPO
from tests.schemas import test_directory, test_http
from tests.schemas.conftest import FULL, MINIMAL, REPLY_MEMBERS, document, with_field

GENERATED = documents()


def _ecma_pattern(
    validator: Validator, pattern: str, instance: object, schema: object
) -> Iterator[jsonschema.ValidationError]:
    # JSON Schema patterns are ECMA-262, where `$` is the end of the input;
    # Python's re.search would let "1234\n" match "^[0-9a-f]{1,32}$".
    if isinstance(instance, str) and regress.Regex(pattern, "u").find(instance) is None:
        yield jsonschema.ValidationError(f"does not match {pattern!r}")


_Ecma = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"pattern": _ecma_pattern})


def validator(name: str, *, formats: bool) -> Validator:
    schema = json.loads((DEFAULT_DIR / name).read_text(encoding="utf-8"))
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER if formats else None
    return _Ecma(schema, format_checker=checker)


def accepts(name: str, instance: object, *, formats: bool = True) -> bool:
    """With `formats`, "format" is asserted; by default JSON Schema only annotates it."""
    return validator(name, formats=formats).is_valid(instance)


def test_committed_files_are_what_the_schemas_generate() -> None:
    committed = {path.name for path in DEFAULT_DIR.glob("*.schema.json")}
    assert committed == set(GENERATED), "run `haven schemas export` (make schemas) and commit"
    for name, doc in GENERATED.items():
        assert (DEFAULT_DIR / name).read_bytes() == render(doc), (
            f"schemas/json/{name} differs from the schemas; run `haven schemas export` "
            "(make schemas) and commit it"
        )


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_each_document_is_valid_json_schema_with_its_header(name: str) -> None:
    doc = GENERATED[name]
    jsonschema.Draft202012Validator.check_schema(doc)
    assert doc["$schema"] == DIALECT
    assert doc["$id"] == ID_BASE + name
    assert doc["title"] and doc["description"]
    data = render(doc)
    # One spelling: regenerating gives the same bytes.
    assert data == render(json.loads(data)) and data.endswith(b"}\n")


def test_check_jsonschema_agrees() -> None:
    """An independent checker (ECMA-262 patterns): the metaschema, and the repository's example."""
    files = sorted(str(path) for path in DEFAULT_DIR.glob("*.schema.json"))
    for args in (
        ["--check-metaschema", *files],
        ["--schemafile", str(DEFAULT_DIR / "content.schema.json"), "haven/examples/desertion.json"],
        [
            "--schemafile",
            str(DEFAULT_DIR / "content-desertion.schema.json"),
            "haven/examples/desertion.json",
        ],
    ):
        done = subprocess.run(
            [sys.executable, "-m", "check_jsonschema", *args],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr


def test_the_example_request_is_accepted() -> None:
    example = json.loads(
        (REPO / "haven" / "examples" / "desertion.json").read_text(encoding="utf-8")
    )
    load_content(example)
    assert accepts("content.schema.json", example)
    assert accepts("content-desertion.schema.json", example)
    assert not accepts("content-evacuation.schema.json", example)


@pytest.mark.parametrize("fixture", [MINIMAL, FULL], ids=["minimal", "full"])
@pytest.mark.parametrize("category", list(MINIMAL))
def test_category_fixtures_are_accepted(fixture: dict[str, Any], category: str) -> None:
    doc = document(category, copy.deepcopy(fixture[category]))
    load_content(doc)
    assert accepts("content.schema.json", doc)
    assert accepts(f"content-{category}.schema.json", doc)


# (category, mutation of a minimal content document): each refused by marshmallow too.
BAD_CONTENT: dict[str, tuple[str, Callable[[dict[str, Any]], None]]] = {
    "unknown top-level field": ("asylum", lambda d: d.update(note="x")),
    "unknown field": ("asylum", lambda d: d["fields"].update(address="x")),
    "version 2": ("asylum", lambda d: d.update(v=2)),
    "unknown category": ("asylum", lambda d: d.update(category="housing")),
    "another category's fields": ("asylum", lambda d: d.update(category="legal_aid")),
    "missing required field": ("desertion", lambda d: d["fields"].pop("needs")),
    "null": ("desertion", lambda d: d["fields"].update(status=None)),
    "not a choice": ("desertion", lambda d: d["fields"].update(status="general")),
    "number as text": ("evacuation", lambda d: d["fields"].update(people_count="3")),
    "out of range": ("evacuation", lambda d: d["fields"].update(people_count=51)),
    "child too old": ("evacuation", lambda d: d["fields"].update(children_ages=[18])),
    "empty list": ("evacuation", lambda d: d["fields"].update(documents_held=[])),
    "chosen twice": (
        "evacuation",
        lambda d: d["fields"].update(documents_held=["other", "other"]),
    ),
    "none with others": (
        "evacuation",
        lambda d: d["fields"].update(documents_held=["none", "other"]),
    ),
    "unknown country": ("asylum", lambda d: d["fields"].update(current_country="XX")),
    "first country outside Dublin": (
        "asylum",
        lambda d: d["fields"].update(first_eu_country="GE"),
    ),
    "too long": ("evacuation", lambda d: d["fields"].update(location="ю" * 101)),
    "blank": ("evacuation", lambda d: d["fields"].update(location=" \u3000\t")),
    "two lines in a line": ("evacuation", lambda d: d["fields"].update(location="a\nb")),
    "bidi control": ("evacuation", lambda d: d["fields"].update(location="a\u202eb")),
    "line separator": ("evacuation", lambda d: d["fields"].update(message="a\u2028b")),
    "carriage return": ("evacuation", lambda d: d["fields"].update(message="a\r\nb")),
    "month 13": ("legal_aid", lambda d: d["fields"].update(held_since="2025-13")),
    "year 1989": ("legal_aid", lambda d: d["fields"].update(next_hearing="1989-12-01")),
    "date with a newline": (
        "legal_aid",
        lambda d: d["fields"].update(next_hearing="2026-12-15\n"),
    ),
    "handle without channel": (
        "desertion",
        lambda d: d["fields"].update(contact_handle="someone"),
    ),
    "channel without handle": (
        "desertion",
        lambda d: d["fields"].update(contact_channel="signal"),
    ),
    "haven_reply with a handle": (
        "desertion",
        lambda d: d["fields"].update(contact_channel="haven_reply", contact_handle="x"),
    ),
    "haven_reply without reply_key": (
        "desertion",
        lambda d: d["fields"].update(contact_channel="haven_reply"),
    ),
    "haven_reply without mailbox_id": (
        "desertion",
        lambda d: (
            d["fields"].update(contact_channel="haven_reply")
            or d.update(
                reply_key=REPLY_MEMBERS["reply_key"], access_hash=REPLY_MEMBERS["access_hash"]
            )
        ),
    ),
    "mailbox_id without the other reply members": (
        "desertion",
        lambda d: d.update(mailbox_id=REPLY_MEMBERS["mailbox_id"]),
    ),
    "access_hash too short": (
        "desertion",
        lambda d: d.update(REPLY_MEMBERS) or d.update(access_hash="AAAA"),
    ),
    "reply key too short": ("desertion", lambda d: d.update(reply_key="AAAA")),
    "reply key URL-safe": (
        "desertion",
        lambda d: d.update(reply_key=document("asylum", FULL["asylum"])["reply_key"][:-4] + "-_-_"),
    ),
}


@pytest.mark.parametrize("case", list(BAD_CONTENT))
def test_known_bad_content_is_refused_by_both(case: str) -> None:
    category, mutate = BAD_CONTENT[case]
    doc = document(category, copy.deepcopy(MINIMAL[category]))
    mutate(doc)
    with pytest.raises(ContentError):
        load_content(doc)
    schema_category = category if doc["category"] not in MINIMAL else doc["category"]
    assert not accepts("content.schema.json", doc)
    assert not accepts(f"content-{schema_category}.schema.json", doc)


# Refused by marshmallow, accepted by JSON Schema (formats not asserted, the
# 2020-12 default): each is named in the description.
NOT_EXPRESSIBLE = {
    "fields.children_ages lists at most fields.people_count ages": (
        "evacuation",
        with_field("evacuation", "people_count", 1) | {"children_ages": [3, 5]},
    ),
    "a day that exists": ("legal_aid", with_field("legal_aid", "next_hearing", "2026-02-30")),
}
# Lone surrogates are the third (test_validators_json.py): the ECMA-262 engine
# used here takes only valid Unicode, so it cannot be handed one.


@pytest.mark.parametrize("note", list(NOT_EXPRESSIBLE))
def test_what_json_schema_cannot_say_is_in_the_description(note: str) -> None:
    category, fields = NOT_EXPRESSIBLE[note]
    doc = document(category, fields)
    with pytest.raises(ContentError):
        load_content(doc)
    for name in ("content.schema.json", f"content-{category}.schema.json"):
        assert accepts(name, doc, formats=False)
        assert note in GENERATED[name]["description"]


def test_integers_with_a_fraction_are_named_in_the_description() -> None:
    doc = document("evacuation", with_field("evacuation", "people_count", 3.0))
    with pytest.raises(ContentError):
        load_content(doc)
    assert "5.0" in GENERATED["content-evacuation.schema.json"]["description"]


def test_routing_labels() -> None:
    good = {"category": "desertion", "region": "ru-volga", "language": "uk", "urgency": "urgent"}
    RoutingSchema().load(good)
    assert accepts("routing.schema.json", good)
    for bad in ({**good, "region": "moscow"}, {**good, "city": "x"}, {"category": "asylum"}):
        with pytest.raises(ValidationError):
            RoutingSchema().load(bad)
        assert not accepts("routing.schema.json", bad)


def test_directory_payload() -> None:
    good = test_directory.payload()
    load_directory_payload(good)
    assert accepts("directory.schema.json", good)
    for mutate in (
        lambda p: p["partners"][0].update(delivery={"kind": "webhook"}),
        lambda p: p["partners"][0].update(delivery={"kind": "queue", "url": "https://a.example"}),
        lambda p: p["partners"][0].update(delivery={"kind": "webhook", "url": "http://a.example"}),
        lambda p: p["partners"][0]["keys"][0].update(kid="A" * 64),
        lambda p: p["partners"][0].update(regions=["ru-central", "ru-central"]),
        lambda p: p.update(issued_at="2026-11-27 10:00:00"),
        lambda p: p.update(network_id="haven-test\n"),
    ):
        bad = copy.deepcopy(good)
        mutate(bad)
        with pytest.raises(DirectoryFormatError):
            load_directory_payload(bad)
        assert not accepts("directory.schema.json", bad)


def test_submission() -> None:
    good = copy.deepcopy(test_http.VALID)
    SubmissionSchema().load(good)
    assert accepts("submission.schema.json", good)
    for mutate in (
        lambda s: s["pow"].update(nonce="1234\n"),
        lambda s: s["pow"].update(nonce="12G4"),
        lambda s: s.update(envelope=s["envelope"].replace("A", "-", 1)),
        lambda s: s["routing"].update(region="moscow"),
        lambda s: s.update(extra=1),
    ):
        bad = copy.deepcopy(good)
        mutate(bad)
        with pytest.raises(ValidationError):
            SubmissionSchema().load(bad)
        assert not accepts("submission.schema.json", bad)
