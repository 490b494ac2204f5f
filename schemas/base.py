"""Field kinds of a request form and the strict base schema.

Each kind knows its form type, and carries its labels and help in
`metadata`, so `schemas.forms` can build the forms from the schemas
themselves and the two cannot drift apart. Every kind has a maximum.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from marshmallow import RAISE, Schema, fields, validate
from marshmallow.types import ErrorMessages

from schemas.i18n import Tr
from schemas.messages import en
from schemas.validators import (
    canonical_base64,
    iso_date,
    iso_month,
    multi_line,
    none_alone,
    single_line,
    unique_items,
)

# (value, labels) pairs; the values become the OneOf set.
Choices = Sequence[tuple[str, Tr]]


class StrictSchema(Schema):
    """Unknown fields are refused: a field the form never had is where free text would hide."""

    class Meta:
        unknown = RAISE

    # marshmallow reads this class attribute; it is never mutated.
    error_messages = {  # noqa: RUF012
        "unknown": en("unknown"),
        "type": en("not_an_object"),
    }


def _messages(**extra: str) -> ErrorMessages:
    return {"required": en("required"), "null": en("null"), **extra}


def _metadata(label: Tr, hint: Tr, **extra: Any) -> dict[str, Any]:
    return {"labels": label, "help": hint, **extra}


class FormKind:
    """Marks a field kind that forms can show; `form_type` names the input."""

    form_type: ClassVar[str]


class StrictString(fields.String):
    """A JSON string only: marshmallow would also take bytes."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> str:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        return value


class Base64Bytes(StrictString):
    """Exactly `size` bytes in canonical standard base64; loads to bytes, dumps to base64."""

    def __init__(self, *, size: int, required: bool = False, error_messages: ErrorMessages) -> None:
        super().__init__(required=required, error_messages=error_messages)
        self.size = size

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> Any:
        raw = canonical_base64(super()._deserialize(value, attr, data, **kwargs), self.size)
        if raw is None:
            raise self.make_error("invalid")
        return raw

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else base64.b64encode(value).decode()


class TextField(FormKind, StrictString):
    form_type = "text"
    check = staticmethod(single_line)

    def __init__(self, *, max_length: int, label: Tr, hint: Tr, required: bool = False) -> None:
        super().__init__(
            required=required,
            validate=[
                validate.Length(max=max_length, error=en("too_long", max=max_length)),
                self.check,
            ],
            error_messages=_messages(invalid=en("not_text")),
            metadata=_metadata(label, hint),
        )


class TextAreaField(TextField):
    form_type = "textarea"
    check = staticmethod(multi_line)


class DateField(FormKind, StrictString):
    """A calendar day, YYYY-MM-DD, kept as that string."""

    form_type = "date"
    check = staticmethod(iso_date)
    invalid = "not_a_date"

    def __init__(self, *, label: Tr, hint: Tr, required: bool = False) -> None:
        super().__init__(
            required=required,
            validate=self.check,
            error_messages=_messages(invalid=en(self.invalid)),
            metadata=_metadata(label, hint),
        )


class MonthField(DateField):
    """A month, YYYY-MM, kept as that string."""

    form_type = "month"
    check = staticmethod(iso_month)
    invalid = "not_a_month"


class ChoiceField(FormKind, StrictString):
    form_type = "choice"

    def __init__(self, *, choices: Choices, label: Tr, hint: Tr, required: bool = False) -> None:
        super().__init__(
            required=required,
            validate=validate.OneOf([value for value, _ in choices], error=en("not_a_choice")),
            error_messages=_messages(invalid=en("not_a_choice")),
            metadata=_metadata(label, hint, choice_labels=dict(choices)),
        )


class CountryField(FormKind, StrictString):
    """An ISO 3166-1 alpha-2 code; browsers name it in the reader's language (Intl.DisplayNames)."""

    form_type = "country"

    def __init__(
        self, *, countries: frozenset[str], label: Tr, hint: Tr, required: bool = False
    ) -> None:
        super().__init__(
            required=required,
            validate=validate.OneOf(sorted(countries), error=en("not_a_country")),
            error_messages=_messages(invalid=en("not_a_country")),
            metadata=_metadata(label, hint),
        )


class MultiChoiceField(FormKind, fields.List[str]):
    """One or more distinct options; an optional one is left out rather than sent empty."""

    form_type = "multi_choice"

    def __init__(self, *, choices: Choices, label: Tr, hint: Tr, required: bool = False) -> None:
        values = [value for value, _ in choices]
        checks: list[Any] = [
            validate.Length(min=1, error=en("not_a_list")),
            validate.Length(max=len(values), error=en("too_many", max=len(values))),
            unique_items,
        ]
        if "none" in values:
            checks.append(none_alone)
        super().__init__(
            StrictString(
                validate=validate.OneOf(values, error=en("not_a_choice")),
                error_messages=_messages(invalid=en("not_a_choice")),
            ),
            required=required,
            validate=checks,
            error_messages=_messages(invalid=en("not_a_list")),
            metadata=_metadata(label, hint, choice_labels=dict(choices)),
        )


class IntegerField(FormKind, fields.Integer):
    form_type = "integer"

    def __init__(self, *, min: int, max: int, label: Tr, hint: Tr, required: bool = False) -> None:
        out_of_range = en("out_of_range", min=min, max=max)
        super().__init__(
            # strict: "5" and 5.0 would load as 5 and not survive a round trip.
            strict=True,
            required=required,
            validate=validate.Range(min=min, max=max, error=out_of_range),
            error_messages=_messages(invalid=en("not_an_integer"), too_large=out_of_range),
            metadata=_metadata(label, hint),
        )


class YearField(IntegerField):
    form_type = "year"


class IntegerListField(FormKind, fields.List[int]):
    """Whole numbers in a range; may be empty (for example: no children)."""

    form_type = "integer_list"

    def __init__(
        self,
        *,
        min: int,
        max: int,
        max_items: int,
        label: Tr,
        hint: Tr,
        required: bool = False,
    ) -> None:
        out_of_range = en("out_of_range", min=min, max=max)
        super().__init__(
            fields.Integer(
                strict=True,
                validate=validate.Range(min=min, max=max, error=out_of_range),
                error_messages=_messages(invalid=en("not_an_integer"), too_large=out_of_range),
            ),
            required=required,
            validate=validate.Length(max=max_items, error=en("too_many", max=max_items)),
            error_messages=_messages(invalid=en("not_a_list")),
            metadata=_metadata(label, hint),
        )
