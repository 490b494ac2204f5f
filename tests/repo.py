"""Where the repository's files are, for tests that read them (the web bundle, deploy files, vectors)."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
