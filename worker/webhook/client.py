"""The HTTPS client of the webhook delivery: one POST, bounded in time and in what it reads.

Certificate and host name verification always on, no redirects, no proxy
from the environment, the answer's status line kept and its body dropped;
the host resolved once and connected to only at an address the
`AddressPolicy` allows (worker.webhook.address).
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from haven.broker.settings import SettingsError
from worker.webhook.address import AddressPolicy, BlockedAddressError

Verdict = Literal["accepted", "declined", "transient"]
# Why a POST brought no acceptance, for the failure counter: a closed set.
Failure = Literal["status", "timeout", "tls", "blocked-address", "connection"]

# The partner's answer body is read only this far, then dropped with the
# connection: a partner (or whoever sits at its URL) cannot make Haven
# buffer megabytes, and nothing of it is kept or logged.
MAX_ANSWER_BYTES = 4096
# After the deadline the socket is shut down; this long more for the POST
# thread to notice before it is left behind (a hung DNS lookup ignores
# socket timeouts).
_CUT_GRACE = 2.0


def classify(status: int | None) -> Verdict:
    """What a webhook's answer means. None: no HTTP answer at all (timeout, TLS, connection)."""
    if status is not None and 200 <= status <= 299:
        return "accepted"
    # 408 (it timed out reading) and 429 (slow down) are the partner's
    # server saying "later"; every other 4xx is a refusal of this request.
    if status is not None and 400 <= status <= 499 and status not in (408, 429):
        return "declined"
    # 5xx, 408, 429, and 3xx: redirects are never followed (the sealed
    # request goes only where the signed directory says), and a moved
    # endpoint is an operator's fix, as with Stripe's and Svix's webhooks.
    return "transient"


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """Certificate and host name verification always on; TLS 1.2 or later."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if ca_file is not None:
        try:
            context.load_verify_locations(cafile=str(ca_file))
        except (OSError, ssl.SSLError) as exc:
            raise SettingsError(
                f"HAVEN_WEBHOOK_CA_FILE {ca_file}: not a readable PEM CA file ({type(exc).__name__})"
            ) from None
    # The defaults, asserted: no setting anywhere can turn verification off.
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname  # noqa: S101
    return context


@dataclass(frozen=True)
class Target:
    """Where a partner's webhook listens. `path` (with query) is never logged."""

    host: str
    port: int
    path: str

    @classmethod
    def from_url(cls, url: str) -> Target:
        # The directory allows https URLs only; checked again, because a
        # plain-http POST would show who gets what, and when, to the network.
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname or parts.username or parts.password:
            raise SettingsError("a webhook URL must be https:// with a host and no credentials")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return cls(parts.hostname, parts.port or 443, path)


@dataclass(frozen=True)
class Answer:
    status: int | None  # None: no HTTP status line was received
    error: str | None  # the error's class name only: its text may quote the URL
    seconds: float
    # Cut at the deadline but still running: whatever it does later changes
    # nothing (it ends with its socket timeout).
    left_behind: bool = False
    # Set when no HTTP status came back: what kind of failure it was.
    failure: Failure | None = None
    # For a blocked address only: which kind ("resolves to a loopback
    # address"), never the address or the URL.
    detail: str | None = None

    @property
    def failed(self) -> Failure:
        """The failure's kind for a transient verdict (an answer with a status: "status")."""
        return self.failure if self.failure is not None else "status"


def _failure(exc: BaseException) -> Failure:
    if isinstance(exc, BlockedAddressError):
        return "blocked-address"
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return "tls"
    if isinstance(exc, TimeoutError):
        return "timeout"
    return "connection"


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to the address the policy checked, with SNI and certificate check for the host name.

    http.client would resolve the host again inside `connect`; a DNS answer
    that changed since the check (rebinding) could then reach an internal
    address. Here the socket goes to a checked literal address, and the
    host name is used only for TLS and the Host header.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        timeout: float,
        context: ssl.SSLContext,
        policy: AddressPolicy,
    ) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._tls = context
        self._policy = policy

    def connect(self) -> None:
        port = self.port
        unreachable: OSError | None = None
        for address in self._policy.addresses(self.host, port):
            try:
                sock = socket.create_connection((str(address), port), self.timeout)
            except OSError as exc:
                unreachable = exc
                continue
            try:
                # As http.client does: the request goes out without Nagle's delay.
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)
            except BaseException:
                sock.close()
                raise
            return
        assert unreachable is not None  # noqa: S101 - addresses() never returns an empty tuple
        raise unreachable


class _Post:
    """One POST, run in a thread of its own so the broker connection keeps its heartbeats."""

    def __init__(
        self,
        target: Target,
        body: bytes,
        headers: Mapping[str, str],
        *,
        context: ssl.SSLContext,
        timeout: float,
        policy: AddressPolicy,
    ) -> None:
        self._target = target
        self._body = body
        self._headers = dict(headers)
        # http.client, not urllib.request: it never follows a redirect, never
        # takes a proxy from the environment, and leaves the socket in reach
        # so a whole POST can be cut off at its deadline (a socket timeout
        # bounds each read only; a server dripping a byte at a time would
        # otherwise hold the request for as long as it liked).
        self._connection = _PinnedHTTPSConnection(
            target.host, target.port, timeout=timeout, context=context, policy=policy
        )
        self.status: int | None = None
        self.error: str | None = None
        self.failure: Failure | None = None
        self.detail: str | None = None
        self.done = threading.Event()

    def run(self) -> None:
        try:
            self._connection.request("POST", self._target.path, self._body, self._headers)
            response = self._connection.getresponse()
            # The status line is the answer; what follows is read boundedly and dropped.
            self.status = response.status
            response.read(MAX_ANSWER_BYTES)
        except (OSError, http.client.HTTPException) as exc:
            if self.status is None:
                self.error = type(exc).__name__
                self.failure = _failure(exc)
                if isinstance(exc, BlockedAddressError):
                    self.detail = str(exc)
        finally:
            self._connection.close()
            self.done.set()

    def cut(self) -> None:
        """Past the deadline: shut the socket so the blocked read in `run` returns now."""
        sock = self._connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed by `run`
                sock.shutdown(socket.SHUT_RDWR)


def post(
    target: Target,
    body: bytes,
    headers: Mapping[str, str],
    *,
    context: ssl.SSLContext,
    timeout: float,
    policy: AddressPolicy,
    thread_name: str,
    while_waiting: Callable[[], None],
) -> Answer:
    """POST `body` to `target`, all of it within `timeout` seconds; never raises for the network.

    The POST runs in a thread of its own; `while_waiting` is called about
    every 50 ms meanwhile (the deliverer serves its broker connection there).
    """
    request = _Post(target, body, headers, context=context, timeout=timeout, policy=policy)
    started = time.monotonic()
    deadline = started + timeout
    thread = threading.Thread(target=request.run, name=thread_name, daemon=True)
    thread.start()
    while not request.done.wait(0.05):
        while_waiting()
        if time.monotonic() >= deadline:
            break
    if not request.done.is_set():
        request.cut()
        stopped = request.done.wait(_CUT_GRACE)
        return Answer(
            None, "Timeout", time.monotonic() - started, left_behind=not stopped, failure="timeout"
        )
    return Answer(
        request.status,
        request.error,
        time.monotonic() - started,
        failure=request.failure,
        detail=request.detail,
    )
