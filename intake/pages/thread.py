"""A requester's thread as the no-JavaScript answers page shows it (docs/web-status.md).

The intake holds the keys derived from the code for the length of one
request, reads the thread with haven.replies.read_thread against the
signing keys of its own verified directory, and keeps nothing: no message,
key or count outlives the answer.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from haven.directory import partner_by_id, signing_keys
from haven.replies import MAX_FOLLOW_UP_CHARS, ReplyKeys, read_thread
from schemas.directory import Directory

__all__ = [
    "MAX_FOLLOW_UP_CHARS",
    "ShownMessage",
    "ShownThread",
    "follow_up_problem",
    "shown_thread",
]

# Control characters a person does not type: everything below U+0020 but the
# line break, DEL, and the C1 block (docs/replies-v1.md section 3.1).
_CONTROL = frozenset([*range(0x00, 0x0A), *range(0x0B, 0x20), *range(0x7F, 0xA0)])


@dataclass(frozen=True)
class ShownMessage:
    """One verified, opened message, as the page shows it."""

    kind: str
    partner: str
    # The organisation's name from the verified directory (its id if it has left).
    partner_name: str
    state: str | None
    text: str
    sent_at: str


@dataclass(frozen=True)
class ShownThread:
    """The verified messages in `sent_at` order, and how many could not be verified."""

    messages: tuple[ShownMessage, ...]
    unverified: int
    state: str | None
    latest_partner: str | None


def shown_thread(stored: Sequence[bytes], keys: ReplyKeys, directory: Directory) -> ShownThread:
    """The stored messages (JSON bytes, as the store keeps them), checked, opened and named.

    A message that fails any check is never shown, not even in part: a
    forged one could say anything (section 3.5).
    """
    wires: list[object] = []
    for raw in stored:
        try:
            wires.append(json.loads(raw))
        except ValueError:
            # Only what the intake checked is stored: this is a tampered store.
            wires.append(None)
    thread = read_thread(
        wires, keys.mailbox_id, keys.reply_key, lambda partner: signing_keys(directory, partner)
    )
    shown = []
    for message in thread.messages:
        partner = partner_by_id(directory, message.partner)
        shown.append(
            ShownMessage(
                kind=message.kind,
                partner=message.partner,
                partner_name=partner.display_name if partner is not None else message.partner,
                state=message.state,
                text=message.text,
                sent_at=message.sent_at,
            )
        )
    return ShownThread(tuple(shown), thread.refused, thread.state, thread.latest_partner)


def follow_up_problem(text: str) -> str | None:
    """Why `text` cannot be sent as a follow-up (a schema message code), or None."""
    if not text.strip():
        return "required"
    if len(text) > MAX_FOLLOW_UP_CHARS:
        return "too_long"
    if any(ord(c) in _CONTROL for c in text):
        return "control_chars"
    return None
