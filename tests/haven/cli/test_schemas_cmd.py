"""`haven schemas export [--check]`, and the export refusing what it cannot convert."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from marshmallow import Schema, ValidationError, fields, validates_schema

from haven.cli.schema_export import Converter, ExportError
from haven.cli.schemas_cmd import DEFAULT_DIR
from tests.haven.cli.conftest import Haven


def test_export_then_check(haven: Haven, tmp_path: Path) -> None:
    out = tmp_path / "json"
    assert haven("schemas", "export", "--dir", out).code == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(
        p.name for p in DEFAULT_DIR.glob("*.schema.json")
    )
    for path in out.iterdir():
        assert path.read_bytes() == (DEFAULT_DIR / path.name).read_bytes()
    result = haven("schemas", "export", "--check", "--dir", out)
    assert result.code == 0, result.err


def test_check_names_what_differs_in_one_line(haven: Haven, tmp_path: Path) -> None:
    out = tmp_path / "json"
    haven("schemas", "export", "--dir", out)
    (out / "routing.schema.json").write_text("{}\n")
    (out / "old.schema.json").write_text("{}\n")
    result = haven("schemas", "export", "--check", "--dir", out)
    assert result.code == 1
    assert result.err.count("\n") == 1
    assert "old.schema.json, routing.schema.json" in result.err
    assert "haven schemas export" in result.err

    # Export rewrites what differs and removes what is no longer generated.
    assert haven("schemas", "export", "--dir", out).code == 0
    assert not (out / "old.schema.json").exists()
    assert haven("schemas", "export", "--check", "--dir", out).code == 0


def _refuses_nothing(value: Any) -> None:
    pass


class _UnknownValidator(Schema):
    name = fields.String(validate=_refuses_nothing)


class _UnknownRule(Schema):
    name = fields.String()

    @validates_schema
    def _rule(self, data: dict[str, Any], **kwargs: Any) -> None:
        raise ValidationError("never")


@pytest.mark.parametrize(
    ("schema", "what"), [(_UnknownValidator, "validator"), (_UnknownRule, "rule")]
)
def test_export_refuses_what_it_cannot_convert(schema: type[Schema], what: str) -> None:
    with pytest.raises(ExportError, match=f"no JSON Schema for the {what}"):
        Converter().schema(schema)
