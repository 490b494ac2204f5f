"""check-jsonschema's vendored schemas (Compose, GitHub workflows), run as its command would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def check(schema: str, path: Path) -> subprocess.CompletedProcess[str]:
    """Validate a file against `--builtin-schema SCHEMA`: exit 0 valid, 1 not."""
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
