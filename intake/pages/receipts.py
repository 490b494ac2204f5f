"""The receipt code the intake makes when a requester without JavaScript chooses a reply through Haven.

Without JavaScript the device cannot make its own code (docs/replies-v1.md
section 1), so the intake does, at send time, in memory: it derives the
reply key, mailbox id and access hash that go into the sealed request,
shows the code once on the confirmation page, and keeps nothing. The code is
never logged, stored, put in a URL or carried in a form; the page says that
the server made it.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field

from haven.replies import access_hash, derive, format_code, generate


@dataclass(frozen=True)
class ServerReceipt:
    """A code made here, and what of it goes into the request. repr shows nothing."""

    code: str = field(repr=False)
    members: Mapping[str, str] = field(repr=False)


def make_receipt(language: str) -> ServerReceipt:
    """A fresh code in `language` (the page's), and the members it gives the content.

    Argon2id runs here (tens of milliseconds, 19 MiB): callers make a
    receipt only for a send already admitted by its ticket and the bucket,
    so a flood of refused sends cannot make the intake spend it.
    """
    code = generate(language)
    keys = derive(code)
    members = {
        "reply_key": _b64(keys.reply_key.public_key.to_bytes()),
        "mailbox_id": _b64(keys.mailbox_id),
        "access_hash": _b64(access_hash(keys.access_secret)),
    }
    return ServerReceipt(code=format_code(code), members=members)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
