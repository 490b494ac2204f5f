"""The newest site manifest version a watcher has accepted, kept to refuse rollbacks (haven/seen.py).

Without it, a compromised intake can serve an older release together with
its older manifest, which verifies until it expires (up to 31 days).
"""

from __future__ import annotations

from pathlib import Path

from haven import seen
from haven.site.manifest import SiteError


class SeenManifest(seen.SeenVersion):
    kind = "site manifest"
    error = SiteError


class SeenManifestFile(seen.SeenVersionFile[SeenManifest]):
    def __init__(self, path: Path) -> None:
        super().__init__(path, SeenManifest)
