"""Envelope v1: requests sealed on the requester's device to partner keys.

Pure: imports only `cryptography` and the standard library. The normative
definition is docs/envelope-v1.md; this package is one implementation of it,
web/src/envelope.js is the other.

Public API, kept small on purpose (in the manner of Fernet and age):
`seal`, `open_envelope`, `inspect`, `digest`, the key types, and one error
type for every failure to open (`OpenError`).
"""

from haven.envelope.errors import (
    EnvelopeFormatError,
    KeyFileError,
    KeyFormatError,
    OpenError,
    SignatureError,
)
from haven.envelope.keyfile import ScryptParams, unwrap_private_key, wrap_private_key
from haven.envelope.keys import PrivateKey, PublicKey
from haven.envelope.layout import (
    BUCKETS,
    MAX_CONTENT_BYTES,
    MAX_ENVELOPE_BYTES,
    MAX_RECIPIENTS,
    Header,
    Labels,
    envelope_size,
    inspect,
)
from haven.envelope.sealing import (
    MESSAGE_ID_PATTERN,
    Opened,
    digest,
    is_message_id,
    open_envelope,
    seal,
)
from haven.envelope.signing import (
    MAX_DOCUMENT_BYTES,
    NetworkKey,
    NetworkVerifyKey,
    sign_document,
    verify_document,
)

__all__ = [
    "BUCKETS",
    "MAX_CONTENT_BYTES",
    "MAX_DOCUMENT_BYTES",
    "MAX_ENVELOPE_BYTES",
    "MAX_RECIPIENTS",
    "MESSAGE_ID_PATTERN",
    "EnvelopeFormatError",
    "Header",
    "KeyFileError",
    "KeyFormatError",
    "Labels",
    "NetworkKey",
    "NetworkVerifyKey",
    "OpenError",
    "Opened",
    "PrivateKey",
    "PublicKey",
    "ScryptParams",
    "SignatureError",
    "digest",
    "envelope_size",
    "inspect",
    "is_message_id",
    "open_envelope",
    "seal",
    "sign_document",
    "unwrap_private_key",
    "verify_document",
    "wrap_private_key",
]
