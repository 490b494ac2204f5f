"""Validating a submission, a follow-up or a mailbox request against schemas.http."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError

from intake.errors import ApiError
from schemas.errors import field_errors

_SHOWN = 5


def load_document(schema: Schema, data: Any) -> Any:
    """`data` loaded by `schema`, or 422 `invalid` naming every field at fault (never a value)."""
    try:
        return schema.load(data)
    except ValidationError as exc:
        errors = list(field_errors(exc.messages))[:_SHOWN]
        field, reason = errors[0]
        raise ApiError("invalid", f"{field}: {reason}", field=field, details=errors) from None
