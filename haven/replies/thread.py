"""A requester's thread: what a mailbox holds, as the requester may see it (docs/replies-v1.md 3.5).

Pure, like the rest of haven.replies: the caller fetches the stored
messages (over HTTP, or from the store on the intake's no-JavaScript path)
and says which signing keys each partner id has in its verified directory.
web/src/status.js `readThread` is the browser's twin.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from haven.envelope import PrivateKey
from haven.replies.message import (
    MessageFormatError,
    MessageRefused,
    PartnerMessage,
    WireMessage,
    read_message,
)


@dataclass(frozen=True)
class Thread:
    """`messages` verified and opened, in `sent_at` order; `refused` counts the rest, shown nowhere."""

    messages: tuple[PartnerMessage, ...]
    refused: int

    @property
    def state(self) -> str | None:
        """The current status: the last status message's state."""
        states = [m.state for m in self.messages if m.kind == "status"]
        return states[-1] if states else None

    @property
    def latest_partner(self) -> str | None:
        """Who a follow-up goes to: the partner of the latest verified message."""
        return self.messages[-1].partner if self.messages else None

    def partners(self) -> tuple[str, ...]:
        """Who wrote in this thread, the latest writer last."""
        seen: dict[str, None] = {}
        for message in self.messages:
            seen.pop(message.partner, None)
            seen[message.partner] = None
        return tuple(seen)


def read_thread(
    wires: Sequence[object],
    mailbox_id: bytes,
    reply_key: PrivateKey,
    signing_keys: Callable[[str], Sequence[bytes]],
) -> Thread:
    """Check and open each message (`wires`: the parsed JSON of each stored message).

    `signing_keys(partner_id)` gives that partner's signing keys from the
    verified directory (none for an unknown partner). A message that fails
    any check is only counted: nothing of it, not even why, is shown, for a
    message that is not provably a partner's may be a lure written to look
    like one.
    """
    opened: list[PartnerMessage] = []
    refused = 0
    for item in wires:
        try:
            if not isinstance(item, dict):
                raise MessageFormatError("message", "not an object")
            wire = WireMessage.from_json(item)
            opened.append(read_message(wire, mailbox_id, reply_key, signing_keys(wire.partner)))
        except (MessageRefused, ValueError):
            # ValueError: MessageFormatError, and anything malformed below it.
            refused += 1
    # sent_at is fixed-width UTC, so text order is time order; the sort is
    # stable, so a status and the reply written in the same second keep the
    # order they were stored in.
    opened.sort(key=lambda message: message.sent_at)
    return Thread(tuple(opened), refused)
