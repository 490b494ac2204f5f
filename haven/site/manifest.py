"""The signed site manifest: what code the network's pages and files carry (docs/site-integrity.md).

A requester's browser runs whatever JavaScript the intake serves it, and
cannot compare it with anything. A compromised intake can therefore serve
a form that leaks what is typed before it is sealed. The manifest is the
network publisher's statement of the code the published Haven serves: the
SHA-256 of each script and stylesheet file, and for each page its
code-carrying parts (script and stylesheet references, inline scripts and
styles, handler attributes, embedded frames) and its Content-Security-Policy.
It is signed by the network key under its own purpose, so a directory
signature can never pass for a manifest or the other way round; anyone
holding the pinned verify key can compare a live site with it
(`haven check-site`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from haven.envelope import (
    NetworkKey,
    NetworkVerifyKey,
    SignatureError,
    sign_document,
    verify_document,
)
from haven.envelope.strictjson import StrictJSONError, loads

# The directory's time bounds (docs/directory.md): one home for both documents.
from haven.seen import CLOCK_SKEW, MAX_VALIDITY, SeenVersion

PURPOSE = "site-manifest"
DEFAULT_VALIDITY = timedelta(days=14)

_HEX64 = re.compile(r"[0-9a-f]{64}")
_NETWORK_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
_METHODS = frozenset({"GET", "POST"})
# Each code item is a flat object of short strings (haven.site.surface).
_MAX_ITEM_TEXT = 2048


class SiteError(Exception):
    """A site manifest that cannot be trusted or built; the message says why, in one line."""


@dataclass(frozen=True)
class PageRequest:
    """How a browser reaches one page: a GET, or a POST of a form's fields to the one neutral URL."""

    method: str
    path: str
    form: tuple[tuple[str, str], ...] = ()

    def label(self) -> str:
        fields = " ".join(f"{name}={value}" for name, value in self.form)
        return f"{self.method} {self.path}" + (f" {fields}" if fields else "")


@dataclass(frozen=True)
class SignedPage:
    request: PageRequest
    # The Content-Security-Policy the page is answered with (normalised).
    csp: str
    # Its code-carrying parts, in document order (haven.site.surface.Item).
    code: tuple[tuple[tuple[str, str], ...], ...]
    # The headers that change how a browser takes the answer (haven.site.walk.PINNED_HEADERS).
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class SignedFile:
    path: str
    sha256: str
    # A Web Worker runs under its own script's policy, so a file's counts too.
    csp: str
    # The headers that change how a browser takes the answer (haven.site.walk.PINNED_HEADERS).
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class SiteManifest:
    network_id: str
    version: int
    issued_at: datetime
    expires_at: datetime
    pages: tuple[SignedPage, ...]
    files: tuple[SignedFile, ...]

    def file(self, path: str) -> SignedFile | None:
        return next((f for f in self.files if f.path == path), None)


def iso_utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def payload_bytes(manifest: SiteManifest) -> bytes:
    data = {
        "network_id": manifest.network_id,
        "version": manifest.version,
        "issued_at": iso_utc(manifest.issued_at),
        "expires_at": iso_utc(manifest.expires_at),
        "pages": [
            {
                "request": {
                    "method": page.request.method,
                    "path": page.request.path,
                    "form": [list(pair) for pair in page.request.form],
                },
                "csp": page.csp,
                "headers": [list(pair) for pair in page.headers],
                "code": [dict(item) for item in page.code],
            }
            for page in manifest.pages
        ],
        "files": [
            {
                "path": f.path,
                "sha256": f.sha256,
                "csp": f.csp,
                "headers": [list(pair) for pair in f.headers],
            }
            for f in manifest.files
        ],
    }
    return json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")


def sign_site_manifest(manifest: SiteManifest, key: NetworkKey) -> bytes:
    payload = payload_bytes(manifest)
    # Re-read what is about to be signed: never sign what a checker refuses.
    parse_payload(payload)
    return sign_document(payload, key, purpose=PURPOSE)


def verify_site_manifest(
    document: bytes,
    pinned: NetworkVerifyKey,
    *,
    now: datetime,
    network_id: str | None = None,
    allow_expired: bool = False,
) -> SiteManifest:
    """The manifest if the pinned key signed it for this purpose, it is well formed and current; else SiteError.

    `network_id`, when given, must be the manifest's. `allow_expired` is for
    the intake (it serves what it has; the checker says it expired) and for
    the publisher renewing its own manifest.
    """
    manifest, _ = verify_site_document(
        document, pinned, now=now, network_id=network_id, allow_expired=allow_expired
    )
    return manifest


def verify_site_document(
    document: bytes,
    pinned: NetworkVerifyKey,
    *,
    now: datetime,
    network_id: str | None = None,
    allow_expired: bool = False,
    seen: SeenVersion | None = None,
) -> tuple[SiteManifest, bytes]:
    """verify_site_manifest, also returning the signed payload, and refusing a rollback.

    `seen` is the newest manifest this checker accepted before: an older one
    is an attacker serving an older release with its still-valid manifest.
    """
    try:
        payload = verify_document(document, pinned, purpose=PURPOSE)
    except SignatureError as exc:
        raise SiteError(f"site manifest refused: {exc}") from None
    manifest = parse_payload(payload)
    if network_id is not None and manifest.network_id != network_id:
        raise SiteError(f"site manifest is for network {manifest.network_id!r}, not {network_id!r}")
    if now >= manifest.expires_at and not allow_expired:
        raise SiteError(
            f"site manifest version {manifest.version} expired at {iso_utc(manifest.expires_at)}"
        )
    if manifest.issued_at > now + CLOCK_SKEW:
        raise SiteError(
            f"site manifest version {manifest.version} is issued in the future "
            f"({iso_utc(manifest.issued_at)})"
        )
    if seen is not None:
        seen.check(manifest.network_id, manifest.version, payload)
    return manifest, payload


def parse_payload(payload: bytes) -> SiteManifest:
    try:
        data = loads(payload)
    except StrictJSONError as exc:
        raise SiteError(f"site manifest payload is not strict JSON: {exc}") from None
    top = _object(
        data, "manifest", {"network_id", "version", "issued_at", "expires_at", "pages", "files"}
    )
    network_id = _string(top, "network_id")
    if not _NETWORK_ID.fullmatch(network_id):
        raise SiteError("site manifest: network_id is not a network id")
    version = top["version"]
    if type(version) is not int or not 1 <= version < 2**53:
        raise SiteError("site manifest: version must be a whole number from 1")
    issued_at, expires_at = _time(top, "issued_at"), _time(top, "expires_at")
    if not issued_at < expires_at <= issued_at + MAX_VALIDITY:
        raise SiteError(
            f"site manifest: expires_at must be after issued_at, by at most {MAX_VALIDITY.days} days"
        )
    pages = tuple(_page(entry) for entry in _list(top, "pages"))
    files = tuple(_file(entry) for entry in _list(top, "files"))
    if not pages:
        raise SiteError("site manifest: lists no page")
    if len({page.request for page in pages}) != len(pages):
        raise SiteError("site manifest: a page is listed twice")
    if len({f.path for f in files}) != len(files):
        raise SiteError("site manifest: a file is listed twice")
    return SiteManifest(network_id, version, issued_at, expires_at, pages, files)


def _page(data: Any) -> SignedPage:
    entry = _object(data, "page", {"request", "csp", "headers", "code"})
    request = _object(entry["request"], "page request", {"method", "path", "form"})
    method = _string(request, "method")
    if method not in _METHODS:
        raise SiteError("site manifest: a page's method must be GET or POST")
    form = _pairs(request, "form")
    code = tuple(_item(item) for item in _list(entry, "code"))
    return SignedPage(
        PageRequest(method, _path(request, "path"), form),
        _string(entry, "csp"),
        code,
        _pairs(entry, "headers"),
    )


def _pairs(data: Mapping[str, Any], name: str) -> tuple[tuple[str, str], ...]:
    pairs: list[tuple[str, str]] = []
    for pair in _list(data, name):
        if not (
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)
        ):
            raise SiteError(f"site manifest: {name} is a list of [name, value] pairs")
        pairs.append((pair[0], pair[1]))
    return tuple(pairs)


def _item(data: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(data, dict) or "kind" not in data:
        raise SiteError("site manifest: a code item is an object with a kind")
    if not all(isinstance(v, str) and len(v) <= _MAX_ITEM_TEXT for v in data.values()):
        raise SiteError("site manifest: a code item holds short strings only")
    return tuple(sorted(data.items()))


def _file(data: Any) -> SignedFile:
    entry = _object(data, "file", {"path", "sha256", "csp", "headers"})
    digest = _string(entry, "sha256")
    if not _HEX64.fullmatch(digest):
        raise SiteError("site manifest: a file's sha256 is 64 lower-case hex digits")
    return SignedFile(_path(entry, "path"), digest, _string(entry, "csp"), _pairs(entry, "headers"))


def _object(data: Any, what: str, members: set[str]) -> Mapping[str, Any]:
    if not isinstance(data, dict) or set(data) != members:
        raise SiteError(
            f"site manifest: a {what} has exactly the members {', '.join(sorted(members))}"
        )
    return data


def _string(data: Mapping[str, Any], name: str) -> str:
    value = data[name]
    if not isinstance(value, str):
        raise SiteError(f"site manifest: {name} must be a string")
    return value


def _path(data: Mapping[str, Any], name: str) -> str:
    # A path on the site's own origin: never another host ("//…") to fetch.
    value = _string(data, name)
    if not value.startswith("/") or value.startswith("//") or len(value) > _MAX_ITEM_TEXT:
        raise SiteError(f"site manifest: {name} must be a path on the site, such as /static/…")
    return value


def _list(data: Mapping[str, Any], name: str) -> Sequence[Any]:
    value = data[name]
    if not isinstance(value, list):
        raise SiteError(f"site manifest: {name} must be a list")
    return value


def _time(data: Mapping[str, Any], name: str) -> datetime:
    text = _string(data, name)
    try:
        moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise SiteError(
            f"site manifest: {name} must be a UTC time such as 2026-01-31T12:00:00Z"
        ) from None
    return moment
