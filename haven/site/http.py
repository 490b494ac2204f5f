"""Fetching a live site over HTTP for `haven check-site`: bounded, with a deadline, like a plain browser.

No cookies, no Referer, no redirects followed (the intake never
redirects; a redirect is reported as the status it is), and every answer
read to at most MAX_ANSWER_BYTES. Over Tor, run the check under torsocks.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
from urllib.parse import urlencode, urlsplit

from haven.site.manifest import PageRequest
from haven.site.walk import MAX_ANSWER_BYTES, Answer

# Tor Browser's own: a check that names itself is a check a compromised
# intake answers with the published code while browsers get another. It is
# still not a browser (docs/site-integrity.md, "What it cannot see").
USER_AGENT = "Mozilla/5.0 (Windows NT 10.0; rv:128.0) Gecko/20100101 Firefox/128.0"
PAGE_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
ACCEPT_LANGUAGE = "en-US,en;q=0.5"


class SiteUnreachable(Exception):  # noqa: N818 - reads as the state it reports
    """The site could not be asked or did not answer (network, TLS, timeout); the message says which."""


class HttpFetcher:
    """GET and POST on one site, given as http://host[:port] or https://host[:port]."""

    def __init__(self, url: str, *, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("the site URL must be http://HOST[:PORT] or https://HOST[:PORT]")
        if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
            # The pages load /static/… from the origin's root: a site is an origin.
            raise ValueError("the site URL must be an origin only, with no path, query or user")
        try:
            port = parts.port
        except ValueError:
            raise ValueError(
                "the site URL has a port that is not a number from 1 to 65535"
            ) from None
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = port
        self._timeout = timeout
        self.origin = f"{parts.scheme}://{parts.netloc}"

    def _connection(self) -> http.client.HTTPConnection:
        if self._https:
            return http.client.HTTPSConnection(
                self._host, self._port, timeout=self._timeout, context=ssl.create_default_context()
            )
        return http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)

    def __call__(self, request: PageRequest) -> Answer:
        page = not request.path.startswith("/static/")
        headers = {
            "User-Agent": USER_AGENT,
            "Accept": PAGE_ACCEPT if page else "*/*",
            "Accept-Language": ACCEPT_LANGUAGE,
            "Connection": "close",
        }
        body = None
        if request.method == "POST":
            body = urlencode(request.form).encode("ascii")
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = self._connection()
        # The socket's timeout bounds each read, not the answer: a server that
        # sends a byte every few seconds would hold the check for hours. The
        # whole request has one deadline; past it the socket is shut (the
        # plain socket's shutdown, under TLS too) and the answer counts as none.
        expired = threading.Event()

        def expire() -> None:
            expired.set()
            sock = connection.sock
            if sock is not None:
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)

        timer = threading.Timer(self._timeout, expire)
        timer.daemon = True
        timer.start()
        try:
            connection.request(request.method, request.path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read(MAX_ANSWER_BYTES + 1)
            policies = tuple(response.headers.get_all("Content-Security-Policy") or ())
            served = tuple(response.getheaders())
        except (OSError, http.client.HTTPException) as exc:
            reason = "no answer in time" if expired.is_set() else _reason(exc)
            raise SiteUnreachable(
                f"{request.method} {self.origin}{request.path}: {reason}"
            ) from None
        finally:
            timer.cancel()
            connection.close()
        if expired.is_set():
            # Cut short, the body read may look whole: it is not an answer.
            raise SiteUnreachable(
                f"{request.method} {self.origin}{request.path}: no answer in time"
            )
        return Answer(
            status=response.status,
            csp=policies,
            body=data[:MAX_ANSWER_BYTES],
            truncated=len(data) > MAX_ANSWER_BYTES,
            headers=served,
        )


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed ({exc.reason or type(exc).__name__})"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return type(exc).__name__
