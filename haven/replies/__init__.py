"""Replies v1: the requester's receipt code and the keys derived from it.

Pure: imports only haven.envelope, `cryptography`, `argon2-cffi` and the
standard library. The normative definition is docs/replies-v1.md; this
package is one implementation of it, web/src/receipt.js is the other.

Public API: `generate`, `parse`, `format_code`, `derive`, the `ReceiptCode`
and `ReplyKeys` types, the fixed `ARGON2` parameters, and one error type for
a code that does not parse (`CodeError`). Partner messages and follow-ups
(sections 2, 3 and 5): `access_hash`, `SigningKey`, `PartnerMessage`,
`WireMessage`, `write_message`, `check_signature`, `check_sealed_form`,
`read_message`, `FollowUp`, `seal_follow_up`, and two error types:
`MessageFormatError` (a malformed field, named) and `MessageRefused` (a
message a requester must not be shown: "not_signed" or "unreadable").
For the mailbox (section 4): `mailbox_work_target` and the fetch answer's
padding (`fetch_response`, `FETCH_BUCKETS`). Reading a whole thread, as a
requester's device or the intake's no-JavaScript path does: `read_thread`
and its `Thread`.
"""

from haven.replies.code import (
    CHECK_WORDS,
    CODE_WORDS,
    DATA_WORDS,
    ENTROPY_BITS,
    ENTROPY_BYTES,
    CodeError,
    ReceiptCode,
    check_index,
    format_code,
    generate,
    parse,
)
from haven.replies.derive import ARGON2, Argon2Params, ReplyKeys, derive
from haven.replies.mailbox import (
    FETCH_BUCKETS,
    MAILBOX_ACTIONS,
    fetch_bucket,
    fetch_response,
    mailbox_work_target,
)
from haven.replies.message import (
    FOLLOW_UP_CATEGORY,
    MAX_FOLLOW_UP_CHARS,
    MAX_REPLY_CHARS,
    MAX_SEALED_BYTES,
    MAX_STATUS_CHARS,
    REPLY_LABELS,
    STATES,
    FollowUp,
    MessageFormatError,
    MessageRefused,
    PartnerMessage,
    SigningKey,
    WireMessage,
    access_hash,
    check_sealed_form,
    check_signature,
    follow_up_labels,
    format_sent_at,
    read_message,
    seal_follow_up,
    signing_public_key,
    write_message,
)
from haven.replies.thread import Thread, read_thread
from haven.replies.words import LANGUAGES, word_list

__all__ = [
    "ARGON2",
    "CHECK_WORDS",
    "CODE_WORDS",
    "DATA_WORDS",
    "ENTROPY_BITS",
    "ENTROPY_BYTES",
    "FETCH_BUCKETS",
    "FOLLOW_UP_CATEGORY",
    "LANGUAGES",
    "MAILBOX_ACTIONS",
    "MAX_FOLLOW_UP_CHARS",
    "MAX_REPLY_CHARS",
    "MAX_SEALED_BYTES",
    "MAX_STATUS_CHARS",
    "REPLY_LABELS",
    "STATES",
    "Argon2Params",
    "CodeError",
    "FollowUp",
    "MessageFormatError",
    "MessageRefused",
    "PartnerMessage",
    "ReceiptCode",
    "ReplyKeys",
    "SigningKey",
    "Thread",
    "WireMessage",
    "access_hash",
    "check_index",
    "check_sealed_form",
    "check_signature",
    "derive",
    "fetch_bucket",
    "fetch_response",
    "follow_up_labels",
    "format_code",
    "format_sent_at",
    "generate",
    "mailbox_work_target",
    "parse",
    "read_message",
    "read_thread",
    "seal_follow_up",
    "signing_public_key",
    "word_list",
    "write_message",
]
