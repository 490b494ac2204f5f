"""Walking a site's pages and files as a browser would, and comparing them with a signed manifest.

One walk serves both sides: the publisher observes the installed intake
(in process) to sign what it serves, and `haven check-site` observes the
live site over HTTP to compare. A Fetcher is the only difference.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urljoin, urlsplit

from haven.site.manifest import PageRequest, SignedFile, SignedPage, SiteManifest
from haven.site.surface import describe, normalise_csp, read_surface, sha256_hex

# The answers a site gives are read to at most this many bytes: far above
# the form bundle (about 120 KiB), far below what could exhaust a watcher.
MAX_ANSWER_BYTES = 8 * 1024 * 1024
# Where the intake serves its signed manifest (docs/site-integrity.md).
MANIFEST_PATH = "/v1/site-manifest"
# Headers that change what a browser does with an answer, signed and compared
# exactly (absent stays absent). Content-Type: a page's charset (utf-16le)
# makes the browser read other markup than the checker, and a bundle served
# as text/plain under nosniff never runs, so the form falls back to posting
# what is typed to the intake; Refresh: the browser leaves the checked page
# for one that is not walked; Link: preloads and stylesheets outside the
# page; Content-Disposition: the page is downloaded, not shown;
# Content-Encoding: the bytes run are not the bytes hashed;
# Service-Worker-Allowed: a worker's reach over the pages.
PINNED_HEADERS = (
    "content-disposition",
    "content-encoding",
    "content-type",
    "link",
    "refresh",
    "service-worker-allowed",
    "x-content-type-options",
)


@dataclass(frozen=True)
class Answer:
    status: int
    # Every Content-Security-Policy header, as sent: a browser enforces them all.
    csp: tuple[str, ...]
    body: bytes
    # The body went past MAX_ANSWER_BYTES and was cut there.
    truncated: bool = False
    # Every header as sent, (name, value), in order.
    headers: tuple[tuple[str, str], ...] = ()

    def pinned_headers(self) -> tuple[tuple[str, str], ...]:
        """The PINNED_HEADERS sent, lower-cased names, in the order sent within each name."""
        return tuple(
            (name, value)
            for pinned in PINNED_HEADERS
            for name, value in ((n.lower(), v) for n, v in self.headers)
            if name == pinned
        )


class Fetcher(Protocol):
    def __call__(self, request: PageRequest) -> Answer: ...


@dataclass(frozen=True)
class ObservedPage:
    request: PageRequest
    answer: Answer
    code: tuple[tuple[tuple[str, str], ...], ...]
    # Paths on the site's own origin that the page loads as code or style.
    loads: tuple[str, ...]


def haven_pages(languages: Sequence[str], categories: Sequence[str]) -> list[PageRequest]:
    """The pages a requester reaches without typing: the language page, each help page, each form, each answers page.

    Review, sent and error pages come from the same base template as these
    and carry no script of their own beyond it (docs/site-integrity.md);
    reaching them takes typed answers or a real send, which no watcher makes.
    """
    pages = [PageRequest("GET", "/")]
    pages += [PageRequest("POST", "/", (("step", "help"), ("lang", lang))) for lang in languages]
    pages += [
        PageRequest("POST", "/", (("step", "form"), ("lang", lang), ("category", category)))
        for lang in languages
        for category in categories
    ]
    # The answers page: its script reads the code phrase, so it is signed
    # like the form's.
    pages += [PageRequest("POST", "/", (("step", "status"), ("lang", lang))) for lang in languages]
    return pages


def same_origin_path(reference: str) -> str | None:
    """The path of `reference` if it points at the page's own origin (pages are served at "/"), else None."""
    origin = "http://site.invalid"
    resolved = urlsplit(urljoin(origin + "/", reference))
    if f"{resolved.scheme}://{resolved.netloc}" != origin:
        return None
    return resolved.path + (f"?{resolved.query}" if resolved.query else "")


def observe_page(fetch: Fetcher, request: PageRequest) -> ObservedPage:
    answer = fetch(request)
    surface = read_surface(answer.body)
    loads = tuple(p for p in (same_origin_path(r) for r in surface.loads) if p is not None)
    return ObservedPage(request, answer, tuple(surface.items), loads)


def signed_csp(answer: Answer) -> str:
    """The one policy to sign for an answer: all its policies, in order, as one."""
    return " , ".join(normalise_csp(value) for value in answer.csp)


def page_mismatches(signed: SignedPage, seen: ObservedPage) -> list[str]:
    where = f"page {signed.request.label()}"
    answer = seen.answer
    if answer.status != 200:
        return [f"{where}: answered {answer.status}, not 200"]
    lines = []
    if answer.truncated:
        lines.append(f"{where}: larger than {MAX_ANSWER_BYTES} bytes")
    lines += _csp_mismatch(where, signed.csp, answer)
    lines += _header_mismatches(where, signed.headers, answer)
    lines += _code_mismatches(where, signed.code, seen.code)
    return lines


def file_mismatches(signed: SignedFile, answer: Answer) -> list[str]:
    where = signed.path
    if answer.status != 200:
        return [f"{where}: answered {answer.status}, not 200"]
    if answer.truncated:
        return [f"{where}: larger than {MAX_ANSWER_BYTES} bytes"]
    lines = []
    digest = sha256_hex(answer.body)
    if digest != signed.sha256:
        lines.append(f"{where}: sha256 {digest} is not the signed {signed.sha256}")
    lines += _csp_mismatch(where, signed.csp, answer)
    lines += _header_mismatches(where, signed.headers, answer)
    return lines


def _header_mismatches(
    where: str, signed: tuple[tuple[str, str], ...], answer: Answer
) -> list[str]:
    served = answer.pinned_headers()
    if served == signed:
        return []

    def said(pairs: tuple[tuple[str, str], ...]) -> str:
        return " | ".join(f"{name}: {value}" for name, value in pairs) or "(none)"

    return [f'{where}: headers "{said(served)}" are not the signed "{said(signed)}"']


def _csp_mismatch(where: str, signed: str, answer: Answer) -> list[str]:
    # Exactly the signed policies, no more: a weaker one lets other code run,
    # and an added stricter one (`script-src 'none'`, `sandbox allow-forms`)
    # stops the signed bundle, so the form falls back to posting what is typed
    # to the intake in the clear (the no-JavaScript path).
    if signed == signed_csp(answer):
        return []
    served = signed_csp(answer) or "(none)"
    return [f'{where}: Content-Security-Policy "{served}" is not the signed "{signed}"']


def _code_mismatches(
    where: str,
    signed: Sequence[tuple[tuple[str, str], ...]],
    seen: Sequence[tuple[tuple[str, str], ...]],
) -> list[str]:
    """One line per code item added, removed or changed, in document order."""
    lines = []
    matcher = difflib.SequenceMatcher(a=list(signed), b=list(seen), autojunk=False)
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        if tag == "equal":
            continue
        before, after = list(signed[a0:a1]), list(seen[b0:b1])
        # A changed item of the same kind (a config block with other bytes) is one line.
        while before and after and dict(before[0])["kind"] == dict(after[0])["kind"]:
            lines.append(f"{where}: {describe(after.pop(0))}, signed {describe(before.pop(0))}")
        lines += [f"{where}: unlisted {describe(code)}" for code in after]
        lines += [f"{where}: missing {describe(code)}" for code in before]
    return lines


def check_site(fetch: Fetcher, manifest: SiteManifest) -> list[str]:
    """Every mismatch between the site as `fetch` sees it and the signed manifest, one line each."""
    lines: list[str] = []
    for signed in manifest.pages:
        lines += page_mismatches(signed, observe_page(fetch, signed.request))
    for file in manifest.files:
        lines += file_mismatches(file, fetch(PageRequest("GET", file.path)))
    return lines


def observe_site(
    fetch: Fetcher, pages: Iterable[PageRequest], files: Iterable[str] = ()
) -> tuple[list[SignedPage], list[SignedFile]]:
    """What a site serves now, as manifest entries: its pages and every file they load, plus `files`.

    Used by the publisher on the installed intake; raises ValueError naming
    a page or file that does not answer 200, which would be signed broken.
    """
    signed_pages: list[SignedPage] = []
    paths: list[str] = []
    for request in pages:
        seen = observe_page(fetch, request)
        if seen.answer.status != 200 or seen.answer.truncated:
            raise ValueError(f"page {request.label()} answered {seen.answer.status}")
        signed_pages.append(
            SignedPage(request, signed_csp(seen.answer), seen.code, seen.answer.pinned_headers())
        )
        paths += [p for p in seen.loads if p not in paths]
    paths += [p for p in files if p not in paths]
    signed_files = []
    for path in paths:
        answer = fetch(PageRequest("GET", path))
        if answer.status != 200 or answer.truncated:
            raise ValueError(f"{path} answered {answer.status}")
        signed_files.append(
            SignedFile(path, sha256_hex(answer.body), signed_csp(answer), answer.pinned_headers())
        )
    return signed_pages, signed_files
