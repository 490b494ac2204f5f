"""Security headers on every answer of the intake."""

from __future__ import annotations

from flask import Response

# The API serves JSON only: nothing may load, frame or be framed.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
# The requester's pages (and their own scripts and styles): only this
# origin's files, never inline code, never a third party; the form posts
# and the bundle connects only here. The crypto bundle's Web Worker is
# served from here too.
PAGE_CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; worker-src 'self'; connect-src 'self'; "
    "style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
# The receipt code's Web Worker runs Argon2id as WebAssembly compiled from
# bytes, which needs 'wasm-unsafe-eval'. A worker runs under its own script's
# policy, so only that script gets it: the pages, and the bundle that holds
# the request's plaintext, still cannot compile code.
WASM_WORKER_PATHS = frozenset({"/static/haven-receipt-worker.js"})
WASM_WORKER_CONTENT_SECURITY_POLICY = PAGE_CONTENT_SECURITY_POLICY.replace(
    "script-src 'self';", "script-src 'self' 'wasm-unsafe-eval';"
)
PAGE_MIMETYPES = frozenset({"text/html", "text/css", "text/javascript"})
# A requester's browser must not tell anyone where it came from or went.
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
HSTS = "max-age=31536000"


def security_headers(*, behind_tls: bool) -> dict[str, str]:
    headers = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Cross-Origin-Resource-Policy": "same-origin",
        "Permissions-Policy": PERMISSIONS_POLICY,
    }
    if behind_tls:
        # Only when TLS is terminated in front of us: over an onion service or
        # plain local HTTP the header would pin a scheme that is not there.
        headers["Strict-Transport-Security"] = HSTS
    return headers


def page_policy(path: str) -> str:
    """The Content-Security-Policy of a page or of one of the pages' own files at `path`."""
    if path in WASM_WORKER_PATHS:
        return WASM_WORKER_CONTENT_SECURITY_POLICY
    return PAGE_CONTENT_SECURITY_POLICY


def apply(
    response: Response, headers: dict[str, str], *, page: bool = False, path: str = ""
) -> Response:
    response.headers.update(headers)
    if page:
        response.headers["Content-Security-Policy"] = page_policy(path)
    # Anything that did not choose its own caching is never stored: a
    # searched phone must not hold a copy of what its owner sent or received.
    if "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"
    return response
