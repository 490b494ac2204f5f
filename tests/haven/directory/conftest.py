"""Fixtures: a real network key, real partner keys, a signed directory."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from haven.directory import empty_directory, key_entry, with_partner
from haven.envelope import NetworkKey, PrivateKey
from haven.replies import signing_public_key
from schemas.directory import Directory

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def partner_entry(partner_id: str, key: PrivateKey, **overrides: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": partner_id,
        "display_name": f"Partner {partner_id}",
        "categories": ["desertion", "legal_aid"],
        "regions": ["ru-central", "abroad-caucasus"],
        "languages": ["ru", "uk"],
        "capacity": 25,
        "delivery": {"kind": "queue"},
        "keys": [key_entry(key.public_key, signing_public_key(key))],
        "response_deadline": {"normal": 72 * 3600, "urgent": 6 * 3600},
    }
    entry.update(overrides)
    return entry


@pytest.fixture(scope="session")
def network_key() -> NetworkKey:
    return NetworkKey.generate()


@pytest.fixture(scope="session")
def partner_keys() -> dict[str, PrivateKey]:
    return {name: PrivateKey.generate() for name in ("lawyers", "evacuators", "georgia")}


@pytest.fixture
def directory(partner_keys: dict[str, PrivateKey]) -> Directory:
    d = empty_directory("haven-test", now=NOW)
    d = with_partner(d, partner_entry("lawyers", partner_keys["lawyers"]), now=NOW)
    d = with_partner(
        d,
        partner_entry(
            "evacuators",
            partner_keys["evacuators"],
            categories=["evacuation", "desertion"],
            regions=["ua-occupied"],
        ),
        now=NOW,
    )
    return with_partner(
        d,
        partner_entry(
            "georgia", partner_keys["georgia"], categories=["asylum"], regions=["abroad-caucasus"]
        ),
        now=NOW,
    )
