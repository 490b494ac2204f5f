"""Site integrity: the signed manifest of the code Haven's pages serve, and checking a live site against it.

docs/site-integrity.md. The manifest is made by the network's publisher
from the installed intake (`haven network sign-site`), served by the
intake at /v1/site-manifest, and checked by anyone holding the pinned
network verify key (`haven check-site`).
"""

from haven.seen import MAX_VALIDITY
from haven.site.check import CheckResult, check, fetch_manifest
from haven.site.http import HttpFetcher, SiteUnreachable
from haven.site.manifest import (
    DEFAULT_VALIDITY,
    PURPOSE,
    PageRequest,
    SignedFile,
    SignedPage,
    SiteError,
    SiteManifest,
    iso_utc,
    sign_site_manifest,
    verify_site_document,
    verify_site_manifest,
)
from haven.site.state import SeenManifest, SeenManifestFile
from haven.site.walk import (
    MANIFEST_PATH,
    Answer,
    Fetcher,
    check_site,
    haven_pages,
    observe_site,
)

__all__ = [
    "DEFAULT_VALIDITY",
    "MANIFEST_PATH",
    "MAX_VALIDITY",
    "PURPOSE",
    "Answer",
    "CheckResult",
    "Fetcher",
    "HttpFetcher",
    "PageRequest",
    "SeenManifest",
    "SeenManifestFile",
    "SignedFile",
    "SignedPage",
    "SiteError",
    "SiteManifest",
    "SiteUnreachable",
    "check",
    "check_site",
    "fetch_manifest",
    "haven_pages",
    "iso_utc",
    "observe_site",
    "sign_site_manifest",
    "verify_site_document",
    "verify_site_manifest",
]
