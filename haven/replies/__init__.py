"""Replies v1: the requester's receipt code and the keys derived from it.

Pure: imports only haven.envelope, `cryptography`, `argon2-cffi` and the
standard library. The normative definition is docs/replies-v1.md; this
package is one implementation of it, web/src/receipt.js is the other.

Public API: `generate`, `parse`, `format_code`, `derive`, the `ReceiptCode`
and `ReplyKeys` types, the fixed `ARGON2` parameters, and one error type for
a code that does not parse (`CodeError`); for the mailbox (section 4),
`mailbox_work_target` and the fetch answer's padding (`fetch_response`,
`FETCH_BUCKETS`).
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
from haven.replies.words import LANGUAGES, word_list

__all__ = [
    "ARGON2",
    "CHECK_WORDS",
    "CODE_WORDS",
    "DATA_WORDS",
    "ENTROPY_BITS",
    "ENTROPY_BYTES",
    "FETCH_BUCKETS",
    "LANGUAGES",
    "MAILBOX_ACTIONS",
    "Argon2Params",
    "CodeError",
    "ReceiptCode",
    "ReplyKeys",
    "check_index",
    "derive",
    "fetch_bucket",
    "fetch_response",
    "format_code",
    "generate",
    "mailbox_work_target",
    "parse",
    "word_list",
]
