"""A requester's HTTP client for an intake: the directory, proof of work, paid posts.

What `haven submit`, `haven status` and `haven follow-up` share. Every paid
post fetches a challenge (GET /v1/challenge), solves it over what the post is
about (an envelope's digest, or a mailbox action's work target), and sends
the token in the Haven-Pow-Challenge header as well as in the body
(docs/intake-api.md, "Proof of work"). Secrets travel in bodies only, never
in a URL, and no error message here quotes a body.
"""

from __future__ import annotations

import base64
import itertools
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from haven.cli.common import CliError, now
from haven.cli.keyfiles import load_verify_key
from haven.directory import MAX_DIRECTORY_BYTES, DirectoryError, accept_directory
from intake.guards.pow import CHALLENGE_HEADER, leading_zero_bits, pow_hash
from schemas.directory import Directory

TIMEOUT_SECONDS = 60
# New challenges fetched after a refused one, as the web form does
# (web/src/form.js, MAX_POW_RETRIES): a challenge that expired while solving,
# or one priced before the load rose, is worth one more try, not a failure.
POW_RETRIES = 2
# The refusals of the challenge itself that a new one cures. Not pow_invalid
# (a forged or foreign token), nor pow_insufficient on `pow.nonce` (our
# solution does not hold: solving again would not change that).
_NEW_CHALLENGE_HELPS = frozenset({"pow_expired", "pow_insufficient"})
MAX_NONCES = 1 << 32
# The largest answer read into memory. An intake's largest is a full
# mailbox's fetch (100 messages of at most 16 KiB sealed, padded to the
# 4 MiB bucket: docs/replies-v1.md section 4.2); anything past twice that
# is not an intake's answer.
MAX_ANSWER_BYTES = 8 * 1024 * 1024

Answer = tuple[int, dict[str, Any], str | None]


def solve(token: str, work: bytes, difficulty: int) -> str:
    """The first hex nonce whose proof-of-work hash over `work` has `difficulty` leading zero bits."""
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    for counter in itertools.count():
        if counter >= MAX_NONCES:
            break
        nonce = format(counter, "x")
        if leading_zero_bits(pow_hash(raw, work, nonce)) >= difficulty:
            return nonce
    raise CliError("no proof-of-work solution found")


def _read_json(data: bytes) -> dict[str, Any]:
    try:
        answer = json.loads(data)
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


def _bounded(data: bytes, url: str) -> bytes:
    if len(data) > MAX_ANSWER_BYTES:
        raise CliError(f"the answer from {url} is larger than {MAX_ANSWER_BYTES} bytes")
    return data


def call_raw(
    url: str, body: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes, str | None]:
    """One request; the status, the body's bytes and Retry-After. Unreachable is a CliError."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")  # noqa: S310 - the user's own URL
    if data is not None:
        request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310  # nosec B310
            return response.status, _bounded(response.read(MAX_ANSWER_BYTES + 1), url), None
    except urllib.error.HTTPError as failure:
        # An HTTPError holds the connection: closed here, not by the collector.
        with failure:
            data = _bounded(failure.read(MAX_ANSWER_BYTES + 1), url)
            return failure.code, data, failure.headers.get("Retry-After")
    except (urllib.error.URLError, TimeoutError) as failure:
        raise CliError(
            f"cannot reach the intake at {url}: {getattr(failure, 'reason', failure)}"
        ) from None


def call(
    url: str, body: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> Answer:
    """One request with a JSON answer ({} when the answer is not a JSON object)."""
    status, data, retry_after = call_raw(url, body, headers)
    return status, _read_json(data), retry_after


def refusal(status: int, answer: dict[str, Any], retry_after: str | None) -> CliError:
    """The intake's refusal as one line: its code, field and message, never what was sent."""
    if status == 503:
        return CliError(
            f"the intake is busy or its broker is away; try again in {retry_after or 'a few'} seconds"
        )
    error = answer.get("error", {}) if isinstance(answer.get("error"), dict) else {}
    words = " ".join(str(error.get(k, "")) for k in ("code", "field", "message") if error.get(k))
    return CliError(f"refused (HTTP {status}): {words}".strip().rstrip(":"))


def paid_post(base: str, path: str, work: bytes, body: dict[str, Any]) -> Answer:
    """Post `body` to `path` with a solved challenge over `work`; the intake's last answer.

    A challenge refused as expired or no longer hard enough (it expired
    while solving, or the load rose meanwhile) is replaced by a new one and
    the same body sent again, POW_RETRIES times at most, as the web form
    does. Every paid post of Haven is idempotent (the same envelope is the
    same request id; a fetch or a delete twice is one), so a resend never
    does anything twice.
    """
    for attempt in range(POW_RETRIES + 1):
        status, challenge, _ = call(f"{base}/v1/challenge")
        if status != 200:
            raise CliError(f"the intake gave no challenge (HTTP {status})")
        token = str(challenge["token"])
        nonce = solve(token, work, int(challenge["difficulty"]))
        # The intake checks the header's token before it reads the body.
        answer = call(
            f"{base}{path}",
            {**body, "pow": {"challenge": token, "nonce": nonce}},
            {CHALLENGE_HEADER: token},
        )
        status, document, _ = answer
        error = document.get("error", {}) if isinstance(document.get("error"), dict) else {}
        if (
            status == 403
            and error.get("code") in _NEW_CHALLENGE_HELPS
            and error.get("field") != "pow.nonce"
        ):
            if attempt < POW_RETRIES:
                continue
            raise CliError(
                f"the intake refused the proof of work {POW_RETRIES + 1} times "
                f"({error.get('code')}): it is under heavy load; try again in a minute"
            )
        return answer
    raise AssertionError("unreachable")  # pragma: no cover


def fetch_directory(base: str, network_key: Path) -> Directory:
    """The intake's signed directory, verified against the network key the user pinned.

    The intake is not trusted with it: a directory that does not verify,
    has expired, or names keys the network did not sign is refused here, so
    a compromised intake cannot slip in a partner of its own to seal to or
    to believe messages from.
    """
    pinned = load_verify_key(network_key)
    status, document, _ = call_raw(f"{base}/v1/directory")
    if status != 200:
        raise CliError(f"the intake gave no directory (HTTP {status})")
    if len(document) > MAX_DIRECTORY_BYTES:
        raise CliError(f"the intake's directory is larger than {MAX_DIRECTORY_BYTES} bytes")
    try:
        return accept_directory(document, pinned, now=now(), state=None)
    except DirectoryError as exc:
        raise CliError(f"the intake's directory: {exc}") from None
