from __future__ import annotations

import base64
import json

import pytest

from haven.envelope import NetworkKey, SignatureError, sign_document, verify_document


def test_round_trip() -> None:
    key = NetworkKey.generate()
    doc = sign_document(b'{"a":1}', key, purpose="directory")
    assert verify_document(doc, key.verify_key, purpose="directory") == b'{"a":1}'


def test_other_key_other_purpose_tampering_are_refused() -> None:
    key = NetworkKey.generate()
    doc = sign_document(b'{"version":3}', key, purpose="directory")
    with pytest.raises(SignatureError, match="pinned"):
        verify_document(doc, NetworkKey.generate().verify_key, purpose="directory")
    with pytest.raises(SignatureError, match="signed for"):
        verify_document(doc, key.verify_key, purpose="receipt")
    parsed = json.loads(doc)
    parsed["payload"] = base64.b64encode(b'{"version":4}').decode()
    with pytest.raises(SignatureError, match="pinned"):
        verify_document(json.dumps(parsed).encode(), key.verify_key, purpose="directory")


def test_unsigned_and_malformed_are_refused() -> None:
    key = NetworkKey.generate()
    with pytest.raises(SignatureError, match="not JSON"):
        verify_document(b"{", key.verify_key, purpose="directory")
    with pytest.raises(SignatureError, match="format"):
        verify_document(b'{"version": 1}', key.verify_key, purpose="directory")
    unsigned = {"format": "haven-signed-v1", "purpose": "directory", "payload": "e30="}
    with pytest.raises(SignatureError, match="unsigned"):
        verify_document(json.dumps(unsigned).encode(), key.verify_key, purpose="directory")
