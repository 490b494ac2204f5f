"""The HTTP contract's schemas: strict, bounded, and silent about values."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from marshmallow import ValidationError

from haven.envelope import MAX_ENVELOPE_BYTES
from haven.replies import MAX_SEALED_BYTES
from schemas.http import (
    CHALLENGE_TOKEN_LENGTH,
    MAX_ENVELOPE_BASE64,
    AcceptedSchema,
    ChallengeSchema,
    ErrorSchema,
    PowSolution,
    Submission,
    SubmissionSchema,
)
from schemas.http import MAX_ENVELOPE_BYTES as MIRRORED_MAX
from schemas.http import MAX_SEALED_BYTES as MIRRORED_SEALED
from schemas.routing import Routing
from tests.schemas.conftest import CANARY

ENVELOPE = bytes(range(256)) * 30
VALID: dict[str, Any] = {
    "routing": {
        "category": "desertion",
        "region": "ru-central",
        "language": "ru",
        "urgency": "urgent",
    },
    "envelope": base64.b64encode(ENVELOPE).decode(),
    "pow": {"challenge": "A" * 88, "nonce": "1234"},
}


def load(**changes: Any) -> Submission:
    result: Submission = SubmissionSchema().load({**VALID, **changes})
    return result


def errors(**changes: Any) -> dict[str, Any]:
    with pytest.raises(ValidationError) as refused:
        load(**changes)
    messages: dict[str, Any] = refused.value.messages  # type: ignore[assignment]
    assert CANARY not in json.dumps(messages)
    return messages


def test_mirrored_limits_agree_with_the_envelope() -> None:
    assert MIRRORED_MAX == MAX_ENVELOPE_BYTES
    assert len(base64.b64encode(bytes(MAX_ENVELOPE_BYTES))) == MAX_ENVELOPE_BASE64
    assert CHALLENGE_TOKEN_LENGTH == 88


def test_valid_submission_loads() -> None:
    submission = load()
    assert submission.routing == Routing("desertion", "ru-central", "ru", "urgent")
    assert submission.envelope == ENVELOPE
    assert submission.pow == PowSolution("A" * 88, "1234")


def test_nonces_decimal_or_hex() -> None:
    for nonce in ("0", "99999999999", "deadbeef", "f" * 32):
        assert load(pow={"challenge": "A" * 88, "nonce": nonce}).pow.nonce == nonce
    for nonce in ("", "-1", "DEADBEEF", "0x12", "1" * 33, " 1", 12):
        assert "nonce" in errors(pow={"challenge": "A" * 88, "nonce": nonce})["pow"]


def test_envelope_is_canonical_standard_base64() -> None:
    text = VALID["envelope"]
    for bad in (
        text[:-1],
        text.replace("+", "-"),
        text[:10] + "\n" + text[10:],
        "YWJ=",  # "ab" is "YWI=": this spelling sets a stray padding bit
        "A" * (MAX_ENVELOPE_BASE64 + 4),
        CANARY,
        123,
        None,
    ):
        assert "envelope" in errors(envelope=bad)
    assert errors(envelope="YWJ=")["envelope"] == ["not standard padded base64"]
    assert errors(envelope="A" * (MAX_ENVELOPE_BASE64 + 4))["envelope"] == [
        f"longer than {MAX_ENVELOPE_BASE64} characters"
    ]


def test_unknown_and_missing_fields() -> None:
    assert errors(extra=1)["extra"] == ["This field is not part of the form."]
    messages = errors(routing={**VALID["routing"], "city": CANARY})
    assert "city" in messages["routing"]
    with pytest.raises(ValidationError) as refused:
        SubmissionSchema().load({})
    assert refused.value.messages == {
        "routing": ["missing"],
        "envelope": ["missing"],
        "pow": ["missing"],
    }


def test_values_are_never_echoed() -> None:
    messages = errors(
        routing={**VALID["routing"], "region": CANARY},
        pow={"challenge": CANARY, "nonce": CANARY},
        envelope=CANARY,
    )
    assert set(messages) == {"routing", "pow", "envelope"}


def test_answer_schemas_dump() -> None:
    assert ChallengeSchema().dump(
        {"token": "t", "difficulty": 16, "expires_at": 1, "algorithm": "a"}
    ) == {"token": "t", "difficulty": 16, "expires_at": 1, "algorithm": "a"}
    assert AcceptedSchema().dump({"id": "0" * 64, "status": "queued"}) == {
        "id": "0" * 64,
        "status": "queued",
    }
    assert ErrorSchema().load({"error": {"code": "invalid", "message": "m", "field": "f"}})


def test_mirrored_sealed_message_limit_equals_the_replies_one() -> None:
    assert MIRRORED_SEALED == MAX_SEALED_BYTES
