"""Comparing what a site answers with what was signed: the policy must be exactly the signed one."""

from __future__ import annotations

import hashlib

from haven.site.manifest import SignedFile
from haven.site.walk import Answer, file_mismatches

SIGNED = "default-src 'none'; script-src 'self'"
BODY = b"go()"


def signed_file() -> SignedFile:
    return SignedFile("/static/a.js", hashlib.sha256(BODY).hexdigest(), SIGNED)


def served(*policies: str) -> Answer:
    return Answer(status=200, csp=policies, body=BODY)


def test_the_signed_policy_passes() -> None:
    assert file_mismatches(signed_file(), served(SIGNED)) == []


def test_a_weaker_policy_fails() -> None:
    assert len(file_mismatches(signed_file(), served("default-src *"))) == 1


def test_an_added_stricter_policy_fails() -> None:
    # `script-src 'none'` beside the signed policy blocks the signed bundle,
    # and the form falls back to posting what is typed to the intake.
    assert len(file_mismatches(signed_file(), served(SIGNED, "script-src 'none'"))) == 1
