"""Fixtures for the envelope tests: real X-Wing keys, generated per test session."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from haven.envelope import Labels, PrivateKey

VECTORS_PATH = Path(__file__).parent / "vectors" / "envelope-v1.json"


@pytest.fixture(scope="session")
def partner_keys() -> list[PrivateKey]:
    return [PrivateKey.generate() for _ in range(3)]


@pytest.fixture
def labels() -> Labels:
    return Labels("desertion", "ru-central", "ru", "urgent")


@pytest.fixture(scope="session")
def vectors() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(VECTORS_PATH.read_text(encoding="utf-8"))
    return data
