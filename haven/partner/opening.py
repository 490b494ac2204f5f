"""Opening a request or follow-up envelope and checking its content: one code for pull and inbox.

A pull opens each envelope to decide whether to take it; the inbox keeps
only the envelope and opens it again, in memory, each time a member reads
it. Both go through `open_item`, so what a member reads is exactly what
the pull accepted.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from haven.envelope import OpenError, PrivateKey, open_envelope
from haven.partner.entry import FOLLOW_UP, REQUEST
from haven.replies import FOLLOW_UP_CATEGORY, FollowUp, MessageFormatError
from schemas.content import ContentError, content_from_json_bytes, content_to_json_bytes


class ContentRefused(Exception):  # noqa: N818 - named for what the caller does: decline
    """The envelope opened, but its content is not what its labels say it is."""

    def __init__(self, labels: dict[str, str]) -> None:
        super().__init__("invalid content")
        self.labels = labels


@dataclass(frozen=True)
class OpenedItem:
    kind: str
    labels: dict[str, str]
    content: dict[str, Any]
    server_sealed: bool


def request_content(labels: dict[str, str], data: bytes) -> dict[str, Any] | None:
    """A request's content as a document, if it passes its category's schema."""
    try:
        content = content_from_json_bytes(data)
        if content.category != labels["category"]:
            # The label that routed it lies about what it is.
            raise ContentError.of_document("category differs from the routing label")
    except ContentError:
        return None
    document: dict[str, Any] = json.loads(content_to_json_bytes(content))
    return document


def follow_up_content(data: bytes) -> dict[str, Any] | None:
    """A follow-up's mailbox id, reply key (base64) and text, if it is one."""
    try:
        follow_up = FollowUp.parse(data)
    except MessageFormatError:
        return None
    return {
        "mailbox_id": base64.b64encode(follow_up.mailbox_id).decode("ascii"),
        "reply_key": base64.b64encode(follow_up.reply_key).decode("ascii"),
        "text": follow_up.text,
    }


def open_item(envelope: bytes, keys: Sequence[PrivateKey]) -> OpenedItem:
    """Open and check; OpenError if no key opens it, ContentRefused if its content is wrong."""
    opened = open_envelope(envelope, keys)
    labels = {
        "category": opened.labels.category,
        "region": opened.labels.region,
        "language": opened.labels.language,
        "urgency": opened.labels.urgency,
    }
    if opened.labels.category == FOLLOW_UP_CATEGORY:
        kind, content = FOLLOW_UP, follow_up_content(opened.content)
    else:
        kind, content = REQUEST, request_content(labels, opened.content)
    if content is None:
        raise ContentRefused(labels)
    return OpenedItem(kind, labels, content, opened.server_sealed)


__all__ = ["ContentRefused", "OpenError", "OpenedItem", "follow_up_content", "open_item"]
