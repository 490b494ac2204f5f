"""Headers on every answer, the session cookie, and the cross-site request checks.

The inbox shows requesters' stories to members of a partner organisation:
- nothing but this origin's own files may load, and no page may be framed
  (a strict CSP, no inline code);
- no answer is kept by the browser or a proxy (no-store), no link tells
  another site where it came from (Referrer-Policy same-origin);
- every POST carries the session's CSRF token, and a browser that says the
  request is cross-site (Sec-Fetch-Site, Origin) is refused even with one.
"""

from __future__ import annotations

import hmac
import re
from urllib.parse import urlsplit

from flask import Request, Response

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
HSTS = "max-age=31536000"
REFERRER_POLICY = "same-origin"
CLEAR_ON_LOCK = '"cache"'

SESSION_COOKIE = "haven_inbox"
# Before a session exists: the unlock form's token, double-submitted in a cookie.
UNLOCK_COOKIE = "haven_unlock"
CSRF_FIELD = "csrf"
# Every token the app makes (sessions, CSRF, the unlock form's): secrets.token_urlsafe(32).
TOKEN_BYTES = 32
TOKEN_FORM = re.compile(r"[A-Za-z0-9_-]{43}")


def apply_headers(response: Response, *, tls: bool) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["Cache-Control"] = "no-store"
    # same-origin: our own forms' POSTs carry their real Origin (checked in
    # cross_site), and no link tells another site where it came from.
    response.headers["Referrer-Policy"] = REFERRER_POLICY
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
        # A browser that sends it knows best: only this origin (or the member's own typing),
        # and never an opaque origin, which even a same-origin request may not carry.
        return fetch_site not in ("same-origin", "none") or request.headers.get("Origin") == "null"
    origin = request.headers.get("Origin")
    # Under Referrer-Policy same-origin our own forms carry our real origin;
    # "null" comes from a sandboxed frame, a data: page or a file: page.
    if origin == "null":
        return True
    if origin is not None:
        # The host only: behind the organisation's own TLS proxy the app
        # sees http while the browser's origin says https.
        return urlsplit(origin).netloc != request.host
    return False


def well_formed(token: str) -> bool:
    """Whether a token from the browser has the form of one the app made (ASCII, its length)."""
    return TOKEN_FORM.fullmatch(token) is not None


LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")


def host_name(host: str) -> str:
    """The name in a Host header, without its port: "[::1]:8470" -> "[::1]"."""
    if host.startswith("["):
        return host.partition("]")[0].lower() + "]"
    return host.partition(":")[0].lower()


def trusted_hosts(bind: str, extra: tuple[str, ...]) -> frozenset[str]:
    """The Host names the app answers to: its bind address, the loopback names, `extra`."""
    bound = f"[{bind}]" if ":" in bind and not bind.startswith("[") else bind
    return frozenset(host_name(name) for name in (bound, *LOOPBACK_NAMES, *extra))


def host_trusted(request: Request, trusted: frozenset[str]) -> bool:
    # A page that rebinds its own name to 127.0.0.1 still sends that name:
    # without this check it could try passphrases through the member's browser.
    return host_name(request.headers.get("Host", "")) in trusted


def token_matches(expected: str | None, given: str | None) -> bool:
    if not expected or given is None or not well_formed(given):
        return False
    return hmac.compare_digest(expected.encode(), given.encode())
