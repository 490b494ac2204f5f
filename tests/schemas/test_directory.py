"""The partner directory payload: strict format, exact round trip, one error type."""

from __future__ import annotations

import base64
import copy
import datetime as dt
from typing import Any

import pytest

from schemas.directory import (
    Deadline,
    Delivery,
    Directory,
    DirectoryFormatError,
    Partner,
    PartnerKey,
    dump_directory_payload,
    load_directory_payload,
)
from tests.schemas.conftest import CANARY

KEY_A = bytes(range(256)) * 4 + bytes(192)
KEY_B = bytes(1216)
SIGNING_B = bytes(range(32))
SIGNING_C = bytes(range(1, 33))


def key(raw: bytes, kid_char: str, signing: bytes | None = None) -> dict[str, str]:
    entry = {"kid": kid_char * 64, "public_key": base64.b64encode(raw).decode()}
    if signing is not None:
        entry["signing_key"] = base64.b64encode(signing).decode()
    return entry


def partner(partner_id: str, **overrides: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": partner_id,
        "display_name": "Юристы «Ковчег»",
        "categories": ["legal_aid", "desertion"],
        "regions": ["ru-central", "abroad-caucasus"],
        "languages": ["ru", "uk"],
        "capacity": 40,
        "delivery": {"kind": "queue"},
        "keys": [key(KEY_A, "a")],
        "response_deadline": {"normal": 86400, "urgent": 3600},
    }
    entry.update(overrides)
    return entry


def payload() -> dict[str, Any]:
    return {
        "network_id": "haven-test",
        "version": 7,
        "issued_at": "2026-11-27T10:00:00Z",
        "expires_at": "2026-12-27T10:00:00Z",
        "partners": [
            partner("lawyers"),
            partner(
                "evacuators",
                categories=["evacuation"],
                regions=["ua-occupied"],
                languages=["uk"],
                delivery={"kind": "webhook", "url": "https://evac.example.org/haven/inbox"},
                keys=[key(KEY_B, "b", SIGNING_B), key(KEY_A, "c", SIGNING_C)],
                response_deadline={"normal": 1_209_600, "urgent": 300},
            ),
        ],
    }


def refusal(data: Any) -> str:
    with pytest.raises(DirectoryFormatError) as caught:
        load_directory_payload(data)
    assert caught.value.__cause__ is None
    return str(caught.value)


def changed(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    """The valid payload with one value replaced (or removed, for `...`)."""
    data = payload()
    node: Any = data
    for step in path[:-1]:
        node = node[step]
    if value is ...:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return data


def test_a_valid_payload_loads_into_dataclasses() -> None:
    directory = load_directory_payload(payload())
    assert directory.network_id == "haven-test"
    assert directory.version == 7
    assert directory.issued_at == dt.datetime(2026, 11, 27, 10, tzinfo=dt.UTC)
    assert directory.expires_at.utcoffset() == dt.timedelta(0)
    lawyers, evacuators = directory.partners
    assert lawyers == Partner(
        id="lawyers",
        display_name="Юристы «Ковчег»",
        categories=("legal_aid", "desertion"),
        regions=("ru-central", "abroad-caucasus"),
        languages=("ru", "uk"),
        capacity=40,
        delivery=Delivery("queue"),
        keys=(PartnerKey("a" * 64, KEY_A),),
        response_deadline=Deadline(86400, 3600),
    )
    assert evacuators.delivery == Delivery("webhook", "https://evac.example.org/haven/inbox")
    assert [k.public_key for k in evacuators.keys] == [KEY_B, KEY_A]
    # A key may list the Ed25519 key its partner signs replies with; one
    # without it (the lawyers') loads with none.
    assert [k.signing_key for k in evacuators.keys] == [SIGNING_B, SIGNING_C]
    assert lawyers.keys[0].signing_key is None


def test_the_payload_round_trips_exactly() -> None:
    original = payload()
    directory = load_directory_payload(copy.deepcopy(original))
    assert dump_directory_payload(directory) == original
    assert load_directory_payload(dump_directory_payload(directory)) == directory


def test_an_empty_directory_is_valid() -> None:
    assert load_directory_payload(changed(("partners",), [])).partners == ()


def test_dumping_needs_aware_whole_second_times() -> None:
    directory = load_directory_payload(payload())
    for bad in (
        dt.datetime(2026, 11, 27, 10),
        dt.datetime(2026, 11, 27, 10, 0, 0, 5, tzinfo=dt.UTC),
    ):
        with pytest.raises(ValueError, match="issued_at"):
            dump_directory_payload(Directory(**{**directory.__dict__, "issued_at": bad}))
    other_zone = dt.datetime(2026, 11, 27, 12, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    dumped = dump_directory_payload(Directory(**{**directory.__dict__, "issued_at": other_zone}))
    assert dumped["issued_at"] == "2026-11-27T10:00:00Z"


P0 = ("partners", 0)
P1 = ("partners", 1)

INVALID = [
    (("network_id",), "ab", "network_id: must be 3 to 64 characters of a-z 0-9 -"),
    (("network_id",), "Haven", "network_id: must be 3 to 64 characters of a-z 0-9 -"),
    (("network_id",), "haven\n", "network_id: must be 3 to 64 characters of a-z 0-9 -"),
    (("network_id",), ..., "network_id: missing"),
    (("version",), 0, "version: must be from 1 to 9007199254740991"),
    (("version",), 2**53, "version: must be from 1 to 9007199254740991"),
    (("version",), "7", "version: must be an integer"),
    (("version",), 7.0, "version: must be an integer"),
    (("version",), True, "version: must be an integer"),
    (("issued_at",), "2026-11-27T10:00:00+00:00", "issued_at: must be a UTC time"),
    (("issued_at",), "2026-11-27T10:00:00.5Z", "issued_at: must be a UTC time"),
    (("issued_at",), "2026-11-27 10:00:00Z", "issued_at: must be a UTC time"),
    (("issued_at",), "2026-11-27T10:00:00z", "issued_at: must be a UTC time"),
    (("issued_at",), "2026-02-30T10:00:00Z", "issued_at: must be a UTC time"),
    (("issued_at",), "2026-11-27T10:00:60Z", "issued_at: must be a UTC time"),
    (("expires_at",), "2026-11-27T10:00:00", "expires_at: must be a UTC time"),
    (("expires_at",), "2026-11-27T10:00:00Z", "expires_at: must be after issued_at"),
    (("expires_at",), "2026-11-27T09:59:59Z", "expires_at: must be after issued_at"),
    (("partners",), {}, "partners: must be a list"),
    (
        ("partners",),
        [partner(f"p{i:03}", keys=[key(KEY_A, "0")]) for i in range(201)],
        "partners: more than 200",
    ),
    ((*P1, "id"), "lawyers", "partners[1].id: used by another partner"),
    ((*P0, "id"), "ab", "partners[0].id: must be 3 to 32 characters of a-z 0-9 -"),
    ((*P0, "id"), "x" * 33, "partners[0].id: must be 3 to 32 characters of a-z 0-9 -"),
    ((*P0, "display_name"), "x" * 81, "partners[0].display_name: longer than 80 characters"),
    (
        (*P0, "display_name"),
        "Lawyers\u202eevil",
        "partners[0].display_name: Remove invisible control characters.",
    ),
    ((*P0, "display_name"), "Lawyers\nevil", "partners[0].display_name: Must be a single line."),
    ((*P0, "display_name"), "", "partners[0].display_name: Must not be empty."),
    ((*P0, "categories"), [], "partners[0].categories: must list 1 to 5"),
    (
        (*P0, "categories"),
        ["asylum", "asylum"],
        "partners[0].categories: must not list an item twice",
    ),
    (
        (*P0, "categories"),
        ["asylum", CANARY],
        "partners[0].categories[1]: not one of: evacuation, ",
    ),
    ((*P0, "regions"), ["moscow"], "partners[0].regions[0]: not one of: ru-central, "),
    ((*P0, "regions"), [], "partners[0].regions: must list 1 to "),
    ((*P0, "languages"), ["de"], "partners[0].languages[0]: not one of: ru, uk, en"),
    ((*P0, "languages"), ["ru", "ru"], "partners[0].languages: must not list an item twice"),
    ((*P0, "capacity"), 0, "partners[0].capacity: must be from 1 to 10000"),
    ((*P0, "capacity"), 10001, "partners[0].capacity: must be from 1 to 10000"),
    ((*P0, "delivery"), {"kind": "email"}, "partners[0].delivery.kind: not one of: queue, webhook"),
    ((*P0, "delivery"), {"kind": "webhook"}, "partners[0].delivery.url: missing for a webhook"),
    (
        (*P0, "delivery"),
        {"kind": "queue", "url": "https://a.example"},
        "partners[0].delivery.url: not allowed for a queue",
    ),
    (
        (*P1, "delivery", "url"),
        "http://evac.example.org/inbox",
        "partners[1].delivery.url: must be an https:// URL",
    ),
    (
        (*P1, "delivery", "url"),
        "HTTPS://evac.example.org/",
        "partners[1].delivery.url: must be an https:// URL",
    ),
    (
        (*P1, "delivery", "url"),
        "https://user:pw@evac.example.org/",
        "partners[1].delivery.url: must be an https:// URL",
    ),
    (
        (*P1, "delivery", "url"),
        "https:///inbox",
        "partners[1].delivery.url: must be an https:// URL",
    ),
    (
        (*P1, "delivery", "url"),
        "https://evac.example.org:99999/",
        "partners[1].delivery.url: must be an https:// URL",
    ),
    (
        (*P1, "delivery", "url"),
        "https://evac.example.org/#x",
        "partners[1].delivery.url: must be an https:// URL",
    ),
    (
        (*P1, "delivery", "url"),
        "https://evac.example.org/a b",
        "partners[1].delivery.url: must be an https:// URL",
    ),
    (
        (*P1, "delivery", "url"),
        "https://эвак.example/",
        "partners[1].delivery.url: must be an https:// URL",
    ),
    (
        (*P1, "delivery", "url"),
        "https://a.example/" + "x" * 495,
        "partners[1].delivery.url: longer than 512 characters",
    ),
    ((*P0, "keys"), [], "partners[0].keys: must list 1 to 4 keys"),
    ((*P0, "keys"), [key(KEY_A, c) for c in "56789"], "partners[0].keys: must list 1 to 4 keys"),
    ((*P1, "keys", 1, "kid"), "a" * 64, "partners[1].keys[1].kid: used by another key"),
    (
        (*P0, "keys", 0, "kid"),
        "A" * 64,
        "partners[0].keys[0].kid: must be 64 lowercase hex characters",
    ),
    (
        (*P0, "keys", 0, "kid"),
        "a" * 63,
        "partners[0].keys[0].kid: must be 64 lowercase hex characters",
    ),
    (
        (*P0, "keys", 0, "public_key"),
        base64.b64encode(KEY_A[:-1]).decode(),
        "partners[0].keys[0].public_key: must be",
    ),
    (
        (*P0, "keys", 0, "public_key"),
        base64.b64encode(KEY_A + b"x").decode(),
        "partners[0].keys[0].public_key: must be",
    ),
    (
        (*P0, "keys", 0, "public_key"),
        "!" * 1624,
        "partners[0].keys[0].public_key: must be standard base64",
    ),
    (
        (*P0, "keys", 0, "public_key"),
        base64.urlsafe_b64encode(KEY_A).decode(),
        "partners[0].keys[0].public_key: must be",
    ),
    (
        (*P0, "keys", 0, "public_key"),
        base64.b64encode(KEY_A).decode()[:-3] + "B==",
        "partners[0].keys[0].public_key:",
    ),
    ((*P0, "keys", 0, "public_key"), KEY_A.hex(), "partners[0].keys[0].public_key: must be"),
    (
        (*P1, "keys", 0, "signing_key"),
        base64.b64encode(SIGNING_B[:-1]).decode(),
        "partners[1].keys[0].signing_key: must be standard base64 of exactly 32 bytes",
    ),
    (
        (*P1, "keys", 0, "signing_key"),
        base64.b64encode(SIGNING_B).decode().rstrip("="),
        "partners[1].keys[0].signing_key: must be standard base64 of exactly 32 bytes",
    ),
    ((*P1, "keys", 0, "signing_key"), None, "partners[1].keys[0].signing_key: must not be null"),
    ((*P1, "keys", 0, "signing_key"), 7, "partners[1].keys[0].signing_key: must be"),
    (
        (*P1, "keys", 1, "signing_key"),
        base64.b64encode(SIGNING_B).decode(),
        "partners[1].keys[1].signing_key: used by another key",
    ),
    (
        (*P0, "response_deadline", "normal"),
        599,
        "partners[0].response_deadline.normal: must be from 600 to 1209600",
    ),
    (
        (*P0, "response_deadline", "normal"),
        1_209_601,
        "partners[0].response_deadline.normal: must be from 600",
    ),
    (
        (*P0, "response_deadline", "urgent"),
        299,
        "partners[0].response_deadline.urgent: must be from 300",
    ),
    (
        (*P0, "response_deadline", "urgent"),
        86401,
        "partners[0].response_deadline.urgent: must not be longer than normal",
    ),
    ((*P0, "response_deadline"), {"normal": 600}, "partners[0].response_deadline.urgent: missing"),
    ((*P0, "extra"), CANARY, "partners[0].extra: unknown field"),
    (("signature",), CANARY, "signature: unknown field"),
]


@pytest.mark.parametrize(
    ("path", "value", "expected"), INVALID, ids=[f"{c[0][-1]}-{i}" for i, c in enumerate(INVALID)]
)
def test_invalid_payloads_name_the_field_and_reason(
    path: tuple[Any, ...], value: Any, expected: str
) -> None:
    message = refusal(changed(path, value))
    assert message.startswith(expected), message
    assert CANARY not in message


def test_a_kid_is_unique_across_partners() -> None:
    data = changed((*P1, "keys"), [key(KEY_A, "a")])
    assert refusal(data) == "partners[1].keys[0].kid: used by another key"


def test_a_signing_key_is_unique_across_partners() -> None:
    data = changed((*P0, "keys"), [key(KEY_A, "a", SIGNING_C)])
    assert refusal(data) == "partners[1].keys[1].signing_key: used by another key"


def test_not_an_object() -> None:
    assert refusal([]) == "payload: must be a JSON object"
    assert refusal(changed(P0, "lawyers")) == "partners[0]: must be an object"
