"""The signed partner directory.

Verification against the pinned network key, freshness and rollback
checks, building new versions, the recipients of each request category,
and the keys that sign each partner's replies. Clients seal requests only to keys that came through here.
"""

from haven.directory.document import (
    MAX_DIRECTORY_BYTES,
    read_directory_document,
    read_network_verify_key,
)
from haven.directory.errors import DirectoryError
from haven.directory.lookup import partner_by_id, signing_keys
from haven.directory.publish import (
    DEFAULT_VALIDITY,
    empty_directory,
    find_partner,
    key_entry,
    payload_bytes,
    sign_directory,
    with_partner,
    without_partner,
)
from haven.directory.recipients import eligible_partners, recipient_keys
from haven.directory.state import SeenVersion, SeenVersionFile
from haven.directory.verify import accept_directory, parse_payload, verify_directory

__all__ = [
    "DEFAULT_VALIDITY",
    "MAX_DIRECTORY_BYTES",
    "DirectoryError",
    "SeenVersion",
    "SeenVersionFile",
    "accept_directory",
    "eligible_partners",
    "empty_directory",
    "find_partner",
    "key_entry",
    "parse_payload",
    "partner_by_id",
    "payload_bytes",
    "read_directory_document",
    "read_network_verify_key",
    "recipient_keys",
    "sign_directory",
    "signing_keys",
    "verify_directory",
    "with_partner",
    "without_partner",
]
