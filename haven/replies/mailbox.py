"""The mailbox's shared rules (docs/replies-v1.md section 4.2): the work a fetch or delete pays for, and the fetch answer's padding.

Pure, so the intake, the CLI and the tests compute the same bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

MAILBOX_ACTIONS = ("fetch", "delete")
# A fetch answer is padded to the smallest of these that holds it: its
# size tells only which of four bands the thread's size is in, and an
# empty mailbox, an unknown one and a wrong code all answer 64 KiB.
FETCH_BUCKETS = (65536, 262144, 1048576, 4194304)

_WORK_CONTEXT = b"haven/replies/v1 mailbox\x00"
_HEAD = b'{"messages":['
_MIDDLE = b'],"padding":"'
_TAIL = b'"}'


def mailbox_work_target(action: str, mailbox_id: bytes) -> bytes:
    """SHA-256("haven/replies/v1 mailbox" || 0x00 || action || 0x00 || mailbox_id).

    What a fetch or delete's proof of work is computed over, in place of
    an envelope's digest: a solution pays for one action on one mailbox.
    """
    if action not in MAILBOX_ACTIONS:
        raise ValueError(f"action must be one of {', '.join(MAILBOX_ACTIONS)}")
    if len(mailbox_id) != 32:
        raise ValueError("mailbox_id must be 32 bytes")
    return hashlib.sha256(_WORK_CONTEXT + action.encode("ascii") + b"\x00" + mailbox_id).digest()


def fetch_bucket(size: int) -> int:
    """The padded size of a fetch answer of `size` bytes (past the last bucket: its next multiple)."""
    for bucket in FETCH_BUCKETS:
        if size <= bucket:
            return bucket
    last = FETCH_BUCKETS[-1]
    return -(-size // last) * last


def fetch_response(messages: Sequence[bytes]) -> bytes:
    """The fetch answer: `{"messages": [...], "padding": "<spaces>"}`, padded to its bucket.

    Each message is one wire message as JSON bytes (docs/replies-v1.md
    section 3.4), spliced in as it is.
    """
    bare = _HEAD + b",".join(messages) + _MIDDLE + _TAIL
    padded = fetch_bucket(len(bare))
    return _HEAD + b",".join(messages) + _MIDDLE + b" " * (padded - len(bare)) + _TAIL
