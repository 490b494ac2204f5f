"""`haven check-site` as a library: fetch the signed manifest, verify it, compare the site with it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from haven.envelope import NetworkVerifyKey
from haven.site.manifest import PageRequest, SiteError, SiteManifest, verify_site_document
from haven.site.state import SeenManifest, SeenManifestFile
from haven.site.walk import MANIFEST_PATH, Fetcher, check_site


@dataclass(frozen=True)
class CheckResult:
    manifest: SiteManifest
    # One line per mismatch; empty when the site serves exactly the signed code.
    mismatches: list[str]


def fetch_manifest(
    fetch: Fetcher,
    pinned: NetworkVerifyKey,
    *,
    now: datetime,
    network_id: str | None = None,
    state: SeenManifestFile | None = None,
) -> SiteManifest:
    """The site's manifest, verified against the pinned key; SiteError if there is none to trust.

    With `state`, a manifest older than the newest one seen before is refused
    (a rollback), and a verified one is remembered.
    """
    # Read first: a damaged state file stops the check before the site is asked.
    seen = _load(state) if state is not None else None
    answer = fetch(PageRequest("GET", MANIFEST_PATH))
    if answer.status != 200:
        raise SiteError(
            f"the site serves no signed manifest at {MANIFEST_PATH} (answered {answer.status})"
        )
    if answer.truncated:
        raise SiteError(f"the site's manifest at {MANIFEST_PATH} is too large")
    manifest, payload = verify_site_document(
        answer.body, pinned, now=now, network_id=network_id, seen=seen
    )
    if state is not None:
        # Only now, after the signature, purpose, expiry and rollback checks:
        # an unsigned document must never move the guard.
        try:
            state.store(manifest.network_id, manifest.version, payload)
        except OSError as exc:
            raise SiteError(
                f"cannot record site manifest state {state.path}: {exc.strerror}"
            ) from None
    return manifest


def _load(state: SeenManifestFile) -> SeenManifest | None:
    try:
        return state.load()
    except OSError as exc:
        raise SiteError(f"cannot read site manifest state {state.path}: {exc.strerror}") from None


def check(
    fetch: Fetcher,
    pinned: NetworkVerifyKey,
    *,
    now: datetime,
    network_id: str | None = None,
    state: SeenManifestFile | None = None,
) -> CheckResult:
    """Raises SiteError (no manifest to trust) or the fetcher's own error (site unreachable)."""
    manifest = fetch_manifest(fetch, pinned, now=now, network_id=network_id, state=state)
    return CheckResult(manifest, check_site(fetch, manifest))
