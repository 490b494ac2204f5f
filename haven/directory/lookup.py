"""Looking a partner up in a verified directory, for the replies a partner signs."""

from __future__ import annotations

from schemas.directory import Directory, Partner


def partner_by_id(directory: Directory, partner_id: str) -> Partner | None:
    """The partner with this id, or None: a reader treats an unknown partner as unsigned."""
    for partner in directory.partners:
        if partner.id == partner_id:
            return partner
    return None


def signing_keys(directory: Directory, partner_id: str) -> tuple[bytes, ...]:
    """The Ed25519 keys that may sign this partner's messages (docs/replies-v1.md section 3.3).

    Empty for an unknown partner and for one listed without signing keys:
    every message that claims to come from it is then refused as not signed.
    """
    partner = partner_by_id(directory, partner_id)
    if partner is None:
        return ()
    return tuple(key.signing_key for key in partner.keys if key.signing_key is not None)
