"""A requester's thread, read on the server for the no-JavaScript replies page (docs/replies-v1.md 3.5).

The browser does the same with web/src/replies.js; here the intake holds
the keys derived from the code for the length of one request, checks every
message against the signing keys of its own verified directory, opens it,
and keeps nothing: no message, key or count outlives the answer.
"""

from __future__ import annotations

import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass

from haven.directory import partner_by_id, signing_keys
from haven.replies import (
    MAX_FOLLOW_UP_CHARS,
    MessageFormatError,
    MessageRefused,
    ReplyKeys,
    WireMessage,
    read_message,
)
from schemas.directory import Directory

__all__ = ["MAX_FOLLOW_UP_CHARS", "ShownMessage", "Thread", "follow_up_problem", "read_thread"]

# Control characters a person does not type: everything below U+0020 but the
# line break, DEL, and the C1 block (section 3.1).
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
class Thread:
    """The verified messages in `sent_at` order, and how many could not be verified."""

    messages: tuple[ShownMessage, ...]
    unverified: int

    @property
    def state(self) -> str | None:
        """The current status: the last status message's state (section 3.5)."""
        states = [m.state for m in self.messages if m.kind == "status" and m.state is not None]
        return states[-1] if states else None

    @property
    def latest_partner(self) -> str | None:
        """Who a follow-up goes to: the partner of the latest verified message."""
        return self.messages[-1].partner if self.messages else None


def read_thread(wires: Sequence[bytes], keys: ReplyKeys, directory: Directory) -> Thread:
    """Check and open each stored message; a message that fails any check is only counted.

    A refused or unreadable message is never shown, not even in part: a
    forged one could say anything (section 3.5).
    """
    shown: list[ShownMessage] = []
    unverified = 0
    for wire_bytes in wires:
        try:
            wire = WireMessage.from_json(json.loads(wire_bytes))
            message = read_message(
                wire, keys.mailbox_id, keys.reply_key, signing_keys(directory, wire.partner)
            )
        except (MessageRefused, MessageFormatError, ValueError, TypeError, binascii.Error):
            # ValueError covers malformed JSON and text; the store only holds
            # what the intake checked, so this is a store that was tampered with.
            unverified += 1
            continue
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
    # sent_at is fixed-width UTC, so text order is time order; the sort is
    # stable, so messages of one second keep the order they were stored in.
    shown.sort(key=lambda m: m.sent_at)
    return Thread(tuple(shown), unverified)


def follow_up_problem(text: str) -> str | None:
    """Why `text` cannot be sent as a follow-up (a schema message code), or None."""
    if not text.strip():
        return "required"
    if len(text) > MAX_FOLLOW_UP_CHARS:
        return "too_long"
    if any(ord(c) in _CONTROL for c in text):
        return "control_chars"
    return None
