"""Headers on every answer, the session cookie, and the cross-site request checks.

The inbox shows requesters' stories to members of a partner organisation:
- nothing but this origin's own files may load, and no page may be framed
  (a strict CSP, no inline code);
- no answer is kept by the browser or a proxy (no-store), no link tells
  another site where it came from (no-referrer);
- every POST carries the session's CSRF token, and a browser that says the
  request is cross-site (Sec-Fetch-Site, Origin) is refused even with one.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from flask import Request, Response

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
HSTS = "max-age=31536000"

SESSION_COOKIE = "haven_inbox"
# Before a session exists: the unlock form's token, double-submitted in a cookie.
UNLOCK_COOKIE = "haven_unlock"
CSRF_FIELD = "csrf"


def apply_headers(response: Response, *, tls: bool) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    response.headers["Permissions-Policy"] = PERMISSIONS_POLICY
    if tls:
        response.headers["Strict-Transport-Security"] = HSTS
    return response


def set_cookie(response: Response, name: str, value: str, *, tls: bool) -> None:
    # HttpOnly: no script reads it; SameSite=Strict: no other site's page
    # sends it; Secure under TLS; no Max-Age: gone when the browser closes.
    response.set_cookie(name, value, httponly=True, samesite="Strict", secure=tls, path="/")


def clear_cookie(response: Response, name: str, *, tls: bool) -> None:
    response.delete_cookie(name, path="/", httponly=True, samesite="Strict", secure=tls)


def cross_site(request: Request) -> bool:
    """Whether the browser says this request comes from another site."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        # A browser that sends it knows best: only this origin (or the member's own typing).
        return fetch_site not in ("same-origin", "none")
    origin = request.headers.get("Origin")
    # "null" is what a browser sends for our own forms under Referrer-Policy
    # no-referrer: it names no other site, and the CSRF token still decides.
    if origin is not None and origin != "null":
        # The host only: behind the organisation's own TLS proxy the app
        # sees http while the browser's origin says https.
        return urlsplit(origin).netloc != request.host
    return False


def token_matches(expected: str | None, given: str | None) -> bool:
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())
