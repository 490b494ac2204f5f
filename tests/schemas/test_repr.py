"""What a receipt code derives, and a request's words, never show in a repr.

A repr is what a log line, a traceback or a debugger prints: a mailbox id
there ties the log to one requester, and an access secret there opens the
mailbox. So the dataclasses that carry them show none of it.
"""

from __future__ import annotations

import base64
from types import MappingProxyType

from schemas.content import RequestContent
from schemas.http import MailboxAccess, MailboxWrite, PowSolution

REPLY_KEY = bytes(range(7, 7 + 200)) * 6 + bytes(16)
MAILBOX_ID = bytes(range(32, 64))
ACCESS_HASH = bytes(range(64, 96))
ACCESS_SECRET = bytes(range(96, 128))


def assert_hidden(shown: str, *secrets: bytes | str) -> None:
    for secret in secrets:
        if isinstance(secret, str):
            assert secret not in shown
            continue
        for form in (repr(secret), secret.hex(), base64.b64encode(secret).decode()):
            # A prefix is enough to recognise a value: long ones are not shown whole.
            assert form[:24] not in shown, form


def test_request_content_shows_only_its_category() -> None:
    content = RequestContent(
        category="asylum",
        fields=MappingProxyType({"situation": "Мой сын в части под Курском"}),
        reply_key=REPLY_KEY,
        mailbox_id=MAILBOX_ID,
        access_hash=ACCESS_HASH,
    )
    shown = repr(content)
    assert "asylum" in shown
    assert_hidden(shown, REPLY_KEY, MAILBOX_ID, ACCESS_HASH, "Курском")


def test_mailbox_access_and_write_show_no_mailbox_and_no_secret() -> None:
    access = MailboxAccess(MAILBOX_ID, ACCESS_SECRET, PowSolution("challenge", "17"))
    assert_hidden(repr(access), MAILBOX_ID, ACCESS_SECRET)
    write = MailboxWrite(MAILBOX_ID, ACCESS_HASH, {"sealed": "AAAA"})
    assert_hidden(repr(write), MAILBOX_ID, ACCESS_HASH)
