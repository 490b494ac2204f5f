"""Python's side of the browser code's tests (web/test/*.test.mjs), run by Node as a subprocess.

    python -m tests.web.js_fixtures <command>   (from the repository root)

Reads a JSON object on stdin, writes one on stdout. Everything the browser
must agree with (signed directories, recipient sets, proof-of-work checks,
content validation) is produced or judged here by the real Python code, so
the two sides cannot drift apart unnoticed.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from haven.directory import (
    empty_directory,
    key_entry,
    payload_bytes,
    recipient_keys,
    sign_directory,
    with_partner,
)
from haven.directory.verify import PURPOSE
from haven.envelope import NetworkKey, PrivateKey, sign_document
from haven.replies import signing_public_key
from intake.guards.pow import PowRejected, ProofOfWork
from schemas.content import ContentError, content_to_json_bytes, load_content
from schemas.directory import Directory, dump_directory_payload
from schemas.forms import all_form_definitions

# The moment the directory tests treat as "now" (JS passes it to verifyDirectory).
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
POW_SECRET = bytes(range(32))
POW_LIFETIME = 300
POW_BITS = 12

# (category, region) pairs whose recipients the JS must choose exactly as Python does.
RECIPIENT_CASES = [
    ("desertion", "ru-central"),  # two partners serve it there
    ("desertion", "ua-occupied"),  # one partner
    ("desertion", "ru-far-east"),  # nobody there: every desertion partner (fallback)
    ("legal_aid", "ru-central"),  # a partner with two keys
    ("asylum", "abroad-caucasus"),
    ("asylum", "ru-central"),  # fallback to the one asylum partner
    ("evacuation", "ua-occupied"),
]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _partner(partner_id: str, keys: list[PrivateKey], **overrides: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": partner_id,
        "display_name": f"Partner {partner_id}",
        "categories": ["desertion", "legal_aid"],
        "regions": ["ru-central", "abroad-caucasus"],
        "languages": ["ru", "uk"],
        "capacity": 25,
        "delivery": {"kind": "queue"},
        "keys": [key_entry(key.public_key, signing_public_key(key)) for key in keys],
        "response_deadline": {"normal": 72 * 3600, "urgent": 6 * 3600},
    }
    entry.update(overrides)
    return entry


def _directory(issued: datetime, validity: timedelta = timedelta(days=14)) -> Directory:
    partners = [
        _partner("lawyers", [PrivateKey.generate(), PrivateKey.generate()]),
        _partner("memorial", [PrivateKey.generate()], categories=["desertion"]),
        _partner(
            "evacuators",
            [PrivateKey.generate()],
            categories=["evacuation", "desertion"],
            regions=["ua-occupied"],
        ),
        _partner(
            "georgia", [PrivateKey.generate()], categories=["asylum"], regions=["abroad-caucasus"]
        ),
    ]
    directory = empty_directory("haven-test", now=issued, validity=validity)
    for partner in partners:
        directory = with_partner(directory, partner, now=issued, validity=validity)
    return directory


def _re_signed(directory: Directory, key: NetworkKey, **changes: Any) -> str:
    """The directory's payload with `changes`, signed without Python's own checks."""
    payload = {**dump_directory_payload(directory), **changes}
    raw = json.dumps(payload, ensure_ascii=False, indent=1, sort_keys=True).encode()
    return sign_document(raw, key, purpose=PURPOSE).decode()


def directory_fixtures(_: dict[str, Any]) -> dict[str, Any]:
    key, other = NetworkKey.generate(), NetworkKey.generate()
    current = _directory(NOW - timedelta(days=1))
    good = sign_directory(current, key)
    # A kid that is not the hash of its key, correctly signed: the payload is refused.
    partners = dump_directory_payload(current)["partners"]
    partners[0]["keys"][0]["kid"] = "0" * 64
    too_many = [
        _partner(f"p{i:02}", [PrivateKey.generate() for _ in range(4)], categories=["asylum"])
        for i in range(9)
    ]
    return {
        "now_ms": int(NOW.timestamp() * 1000),
        "network_key": key.verify_key.to_text(),
        "other_key": other.verify_key.to_text(),
        "documents": {
            "good": good.decode(),
            "wrong_key": sign_directory(current, other).decode(),
            "expired": sign_directory(_directory(NOW - timedelta(days=20)), key).decode(),
            "future": sign_directory(_directory(NOW + timedelta(minutes=10)), key).decode(),
            "within_skew": sign_directory(_directory(NOW + timedelta(minutes=4)), key).decode(),
            "wrong_purpose": sign_document(
                payload_bytes(current), key, purpose="not-a-directory"
            ).decode(),
            "bad_kid": _re_signed(current, key, partners=partners),
            "too_many_keys": _re_signed(current, key, partners=too_many),
        },
        "recipients": [
            {
                "category": category,
                "region": region,
                "kids": [k.kid_hex for k in recipient_keys(current, category, region)],
            }
            for category, region in RECIPIENT_CASES
        ],
        "unserved_category": "political_prisoner",
    }


def pow_issue(_: dict[str, Any]) -> dict[str, Any]:
    pow_ = ProofOfWork(POW_SECRET, lifetime=POW_LIFETIME, min_bits=POW_BITS, clock=time.time)
    challenge = pow_.issue(POW_BITS)
    return {
        "token": challenge.token,
        "difficulty": challenge.difficulty,
        "digest_hex": os.urandom(32).hex(),
    }


def pow_check(request: dict[str, Any]) -> dict[str, Any]:
    pow_ = ProofOfWork(POW_SECRET, lifetime=POW_LIFETIME, min_bits=POW_BITS, clock=time.time)
    try:
        pow_.verify(request["token"], request["nonce"], bytes.fromhex(request["digest_hex"]))
    except PowRejected as exc:
        return {"ok": False, "reason": exc.reason}
    return {"ok": True}


def forms(_: dict[str, Any]) -> dict[str, Any]:
    return all_form_definitions()


def content_check(request: dict[str, Any]) -> dict[str, Any]:
    """Whether Python accepts the content document the JS built, and its canonical bytes."""
    try:
        content = load_content(request["document"])
    except ContentError as exc:
        return {"ok": False, "errors": [list(pair) for pair in exc.errors]}
    return {"ok": True, "canonical": content_to_json_bytes(content).decode()}


COMMANDS = {
    "directory": directory_fixtures,
    "pow-issue": pow_issue,
    "pow-check": pow_check,
    "forms": forms,
    "content-check": content_check,
}


def main() -> None:
    command = COMMANDS[sys.argv[1]]
    request = json.loads(sys.stdin.read() or "{}")
    json.dump(command(request), sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
