"""Who may open a request of a given category and region."""

from __future__ import annotations

from haven.directory.errors import DirectoryError
from haven.envelope import MAX_RECIPIENTS, PublicKey
from schemas.directory import Directory, Partner


def eligible_partners(directory: Directory, category: str, region: str) -> tuple[Partner, ...]:
    """Partners serving `category` in `region`; if none serve the region, all serving `category`.

    The fallback is deliberate: a person in a region no partner covers yet
    should still reach someone who can help with their kind of request,
    rather than be told that nobody can read it.
    """
    by_category = tuple(p for p in directory.partners if category in p.categories)
    in_region = tuple(p for p in by_category if region in p.regions)
    return in_region or by_category


def check_recipient_sets(directory: Directory) -> None:
    """Every category and region must be sealable: at most MAX_RECIPIENTS keys, no kid twice.

    Checked when a directory is signed and when it is verified, so a
    publisher's mistake shows at once rather than when a frightened person
    presses "send".
    """
    regions = {region for p in directory.partners for region in p.regions}
    categories = {category for p in directory.partners for category in p.categories}
    for category in sorted(categories):
        # An unserved region gets the category's fallback set: check it too.
        for region in sorted(regions | {""}):
            _recipient_kids(directory, category, region)


def _recipient_kids(directory: Directory, category: str, region: str) -> list[str]:
    partners = eligible_partners(directory, category, region)
    if not partners:
        raise DirectoryError(f"no partner in the directory serves category {category!r}")
    kids = [key.kid for p in partners for key in p.keys]
    if len(set(kids)) != len(kids):
        raise DirectoryError(f"one key is listed for two partners serving category {category!r}")
    if len(kids) > MAX_RECIPIENTS:
        raise DirectoryError(
            f"{len(kids)} partner keys serve category {category!r} in region {region!r}; "
            f"an envelope holds at most {MAX_RECIPIENTS}"
        )
    return kids


def recipient_keys(directory: Directory, category: str, region: str) -> list[PublicKey]:
    """Every current key of every eligible partner: the envelope's recipients."""
    _recipient_kids(directory, category, region)
    partners = eligible_partners(directory, category, region)
    return [PublicKey.from_bytes(k.public_key) for p in partners for k in p.keys]
