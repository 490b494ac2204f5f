"""Replies v1: the requester's receipt code and the keys derived from it.

Pure: imports only haven.envelope, `cryptography`, `argon2-cffi` and the
standard library. The normative definition is docs/replies-v1.md; this
package is one implementation of it, web/src/receipt.js is the other.

Public API: `generate`, `parse`, `format_code`, `derive`, the `ReceiptCode`
and `ReplyKeys` types, the fixed `ARGON2` parameters, and one error type for
a code that does not parse (`CodeError`).
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
from haven.replies.words import LANGUAGES, word_list

__all__ = [
    "ARGON2",
    "CHECK_WORDS",
    "CODE_WORDS",
    "DATA_WORDS",
    "ENTROPY_BITS",
    "ENTROPY_BYTES",
    "LANGUAGES",
    "Argon2Params",
    "CodeError",
    "ReceiptCode",
    "ReplyKeys",
    "check_index",
    "derive",
    "format_code",
    "generate",
    "parse",
    "word_list",
]
