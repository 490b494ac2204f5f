"""Comparing what a site answers with what was signed: the policy and the headers that steer a browser, exactly."""

from __future__ import annotations

import hashlib

import pytest

from haven.site.manifest import PageRequest, SignedFile, SignedPage
from haven.site.walk import Answer, file_mismatches, observe_page, page_mismatches

SIGNED = "default-src 'none'; script-src 'self'"
BODY = b"go()"


JS = (("content-type", "text/javascript; charset=utf-8"), ("x-content-type-options", "nosniff"))
PAGE = b'<!doctype html><script src="/static/a.js"></script>'
HTML = (("content-type", "text/html; charset=utf-8"), ("x-content-type-options", "nosniff"))


def signed_file() -> SignedFile:
    return SignedFile("/static/a.js", hashlib.sha256(BODY).hexdigest(), SIGNED, JS)


def served(*policies: str, headers: tuple[tuple[str, str], ...] = JS) -> Answer:
    return Answer(status=200, csp=policies, body=BODY, headers=headers)


def page_answer(headers: tuple[tuple[str, str], ...], body: bytes = PAGE) -> Answer:
    return Answer(status=200, csp=(SIGNED,), body=body, headers=headers)


def signed_page() -> SignedPage:
    request = PageRequest("GET", "/")
    seen = observe_page(lambda _: page_answer(HTML), request)
    return SignedPage(request, SIGNED, seen.code, HTML)


def test_the_signed_policy_passes() -> None:
    assert file_mismatches(signed_file(), served(SIGNED)) == []


def test_a_weaker_policy_fails() -> None:
    assert len(file_mismatches(signed_file(), served("default-src *"))) == 1


def test_an_added_stricter_policy_fails() -> None:
    # `script-src 'none'` beside the signed policy blocks the signed bundle,
    # and the form falls back to posting what is typed to the intake.
    assert len(file_mismatches(signed_file(), served(SIGNED, "script-src 'none'"))) == 1


def test_the_signed_headers_pass_in_any_case_and_beside_others() -> None:
    headers = (("Date", "today"), ("Content-Type", JS[0][1]), ("X-Content-Type-Options", "nosniff"))
    assert file_mismatches(signed_file(), served(SIGNED, headers=headers)) == []


def test_a_bundle_served_as_text_fails() -> None:
    # Under nosniff a browser never runs it: the form posts what is typed to the intake.
    headers = (("Content-Type", "text/plain"), ("X-Content-Type-Options", "nosniff"))
    (line,) = file_mismatches(signed_file(), served(SIGNED, headers=headers))
    assert line.startswith('/static/a.js: headers "content-type: text/plain | ')


@pytest.mark.parametrize(
    "headers",
    [
        # The browser leaves the checked page at once for one never walked.
        (*HTML, ("Refresh", "0; url=/elsewhere")),
        # The browser reads UTF-16 markup the checker never sees.
        (("Content-Type", "text/html; charset=utf-16le"), ("X-Content-Type-Options", "nosniff")),
        (*HTML, ("Link", "</leak.css>; rel=stylesheet")),
    ],
)
def test_a_page_header_that_steers_the_browser_fails(headers: tuple[tuple[str, str], ...]) -> None:
    seen = observe_page(lambda _: page_answer(headers), PageRequest("GET", "/"))
    assert len(page_mismatches(signed_page(), seen)) == 1


def test_a_page_with_a_utf16_byte_order_mark_fails() -> None:
    # The mark outranks the declared charset: the browser reads other markup.
    body = b"\xff\xfe" + PAGE + '<script src="/leak.js"></script>'.encode("utf-16-le")
    seen = observe_page(lambda _: page_answer(HTML, body), PageRequest("GET", "/"))
    assert page_mismatches(signed_page(), seen) == ["page GET /: unlisted utf-16-byte-order-mark"]
