"""Validating a submission document against schemas.http."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError

from intake.errors import ApiError
from schemas.errors import field_errors
from schemas.http import Submission, SubmissionSchema

_SCHEMA = SubmissionSchema()
_SHOWN = 5


def load_submission(data: Any) -> Submission:
    """The validated submission, or 422 naming every field at fault (never a value)."""
    try:
        submission: Submission = _SCHEMA.load(data)
    except ValidationError as exc:
        errors = list(field_errors(exc.messages))[:_SHOWN]
        field, reason = errors[0]
        raise ApiError("invalid", f"{field}: {reason}", field=field, details=errors) from None
    return submission
