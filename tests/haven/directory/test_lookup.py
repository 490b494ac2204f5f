"""Looking up a partner and the keys that sign its replies (docs/replies-v1.md section 3.3)."""

from __future__ import annotations

import pytest

from haven.directory import (
    DirectoryError,
    find_partner,
    key_entry,
    partner_by_id,
    signing_keys,
    with_partner,
)
from haven.envelope import PrivateKey
from haven.replies import signing_public_key
from schemas.directory import Directory
from tests.haven.directory.conftest import NOW, partner_entry


def test_partner_by_id(directory: Directory) -> None:
    partner = partner_by_id(directory, "evacuators")
    assert partner is not None and partner.id == "evacuators"
    assert partner_by_id(directory, "nobody") is None
    assert find_partner(directory, "evacuators") == partner
    with pytest.raises(DirectoryError, match="no partner 'nobody'"):
        find_partner(directory, "nobody")


def test_signing_keys_are_those_derived_from_the_partner_keys(
    directory: Directory, partner_keys: dict[str, PrivateKey]
) -> None:
    assert signing_keys(directory, "lawyers") == (signing_public_key(partner_keys["lawyers"]),)
    assert signing_keys(directory, "nobody") == ()


def test_every_key_that_lists_a_signing_key_counts_and_the_others_do_not(
    directory: Directory,
) -> None:
    old, new, unsigned = (PrivateKey.generate() for _ in range(3))
    entry = partner_entry(
        "lawyers",
        old,
        keys=[
            key_entry(old.public_key, signing_public_key(old)),
            key_entry(unsigned.public_key),
            key_entry(new.public_key, signing_public_key(new)),
        ],
    )
    updated = with_partner(directory, entry, now=NOW)
    assert signing_keys(updated, "lawyers") == (signing_public_key(old), signing_public_key(new))
    listed_without = with_partner(
        directory, partner_entry("lawyers", old, keys=[key_entry(old.public_key)]), now=NOW
    )
    assert signing_keys(listed_without, "lawyers") == ()
