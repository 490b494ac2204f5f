"""`haven check-site` as a library: fetch the signed manifest, verify it, compare the site with it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from haven.envelope import NetworkVerifyKey
from haven.site.manifest import PageRequest, SiteError, SiteManifest, verify_site_manifest
from haven.site.walk import MANIFEST_PATH, Fetcher, check_site


@dataclass(frozen=True)
class CheckResult:
    manifest: SiteManifest
    # One line per mismatch; empty when the site serves exactly the signed code.
    mismatches: list[str]


def fetch_manifest(
    fetch: Fetcher, pinned: NetworkVerifyKey, *, now: datetime, network_id: str | None = None
) -> SiteManifest:
    """The site's manifest, verified against the pinned key; SiteError if there is none to trust."""
    answer = fetch(PageRequest("GET", MANIFEST_PATH))
    if answer.status != 200:
        raise SiteError(
            f"the site serves no signed manifest at {MANIFEST_PATH} (answered {answer.status})"
        )
    if answer.truncated:
        raise SiteError(f"the site's manifest at {MANIFEST_PATH} is too large")
    return verify_site_manifest(answer.body, pinned, now=now, network_id=network_id)


def check(
    fetch: Fetcher, pinned: NetworkVerifyKey, *, now: datetime, network_id: str | None = None
) -> CheckResult:
    """Raises SiteError (no manifest to trust) or the fetcher's own error (site unreachable)."""
    manifest = fetch_manifest(fetch, pinned, now=now, network_id=network_id)
    return CheckResult(manifest, check_site(fetch, manifest))
