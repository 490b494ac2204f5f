from __future__ import annotations

from datetime import timedelta

import pytest

from haven.directory import (
    DirectoryError,
    eligible_partners,
    recipient_keys,
    with_partner,
    without_partner,
)
from haven.envelope import PrivateKey
from schemas.directory import Directory
from tests.haven.directory.conftest import NOW, partner_entry


def test_partners_serving_category_and_region(directory: Directory) -> None:
    assert [p.id for p in eligible_partners(directory, "desertion", "ru-central")] == ["lawyers"]
    assert [p.id for p in eligible_partners(directory, "desertion", "ua-occupied")] == [
        "evacuators"
    ]


def test_uncovered_region_falls_back_to_the_category(directory: Directory) -> None:
    assert {p.id for p in eligible_partners(directory, "desertion", "ru-far-east")} == {
        "lawyers",
        "evacuators",
    }


def test_recipient_keys_are_the_partners_keys(
    directory: Directory, partner_keys: dict[str, PrivateKey]
) -> None:
    keys = recipient_keys(directory, "asylum", "abroad-caucasus")
    assert keys == [partner_keys["georgia"].public_key]


def test_category_nobody_serves(directory: Directory) -> None:
    with pytest.raises(DirectoryError, match="political_prisoner"):
        recipient_keys(directory, "political_prisoner", "ru-central")


def test_too_many_keys_for_one_envelope_is_refused(directory: Directory) -> None:
    for index in range(33):
        directory = with_partner(
            directory,
            partner_entry(
                f"crowd-{index:02d}",
                PrivateKey.generate(),
                categories=["evacuation"],
                regions=["by"],
            ),
            now=NOW,
        )
    with pytest.raises(DirectoryError, match="at most 32"):
        recipient_keys(directory, "evacuation", "by")


def test_publishing_bumps_the_version_and_validity(directory: Directory) -> None:
    later = NOW + timedelta(days=1)
    removed = without_partner(directory, "georgia", now=later)
    assert removed.version == directory.version + 1
    assert removed.issued_at == later
    assert "georgia" not in {p.id for p in removed.partners}
    with pytest.raises(DirectoryError, match="no partner"):
        without_partner(removed, "georgia", now=later)
