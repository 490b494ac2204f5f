"""`haven submit`: send a sealed envelope to an intake, as a requester's device does.

Fetches a proof-of-work challenge, solves it over the envelope's digest
(docs/intake-api.md), and posts the envelope with its routing labels, the
challenge token in the Haven-Pow-Challenge header as well as in the body. Used
by the demo network and by requesters who prefer a command line to the
web form.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import itertools
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from haven.cli.common import CliError, Commands, read_bytes
from haven.envelope import MAX_ENVELOPE_BYTES, EnvelopeFormatError, digest, inspect
from intake.guards.pow import CHALLENGE_HEADER, leading_zero_bits, pow_hash

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


def register(commands: Commands) -> None:
    parser = commands.add_parser(
        "submit",
        help="send a sealed envelope to an intake",
        description="Send a sealed envelope to a Haven intake: solve its proof of work, post, print the request id.",
    )
    parser.add_argument("envelope", type=Path)
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="the intake's base URL")
    parser.set_defaults(handler=run)


def solve(token: str, envelope_digest: bytes, difficulty: int) -> str:
    """The first hex nonce whose proof-of-work hash has `difficulty` leading zero bits."""
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    for counter in itertools.count():
        if counter >= MAX_NONCES:
            break
        nonce = format(counter, "x")
        if leading_zero_bits(pow_hash(raw, envelope_digest, nonce)) >= difficulty:
            return nonce
    raise CliError("no proof-of-work solution found")


def _call(
    url: str, body: dict[str, Any] | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, Any], str | None]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")  # noqa: S310 - the operator's own URL
    if data is not None:
        request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310  # nosec B310
            return response.status, json.loads(response.read()), None
    except urllib.error.HTTPError as failure:
        # An HTTPError holds the connection: closed here, not by the collector.
        with failure:
            try:
                answer = json.loads(failure.read())
            except ValueError:
                answer = {}
            return failure.code, answer, failure.headers.get("Retry-After")
    except (urllib.error.URLError, TimeoutError) as failure:
        raise CliError(
            f"cannot reach the intake at {url}: {getattr(failure, 'reason', failure)}"
        ) from None


def submit(envelope: bytes, base_url: str) -> str:
    """Post one envelope; return the request id the intake confirmed.

    A challenge refused as expired or no longer hard enough (it expired
    while solving, or the load rose meanwhile) is replaced by a new one and
    the same envelope sent again, POW_RETRIES times at most, as the web form
    does; the same envelope is the same request id, so a resend is never a
    second request.
    """
    try:
        labels = inspect(envelope).labels
    except EnvelopeFormatError as exc:
        raise CliError(f"not a valid envelope: {exc}") from None
    base = base_url.rstrip("/")
    envelope_digest = hashlib.sha256(envelope).digest()
    for attempt in range(POW_RETRIES + 1):
        status, answer, retry_after = _paid_post(base, envelope, labels.__dict__, envelope_digest)
        error = answer.get("error", {}) if status != 202 else {}
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
        break
    if status == 503:
        raise CliError(
            f"the intake is busy or its broker is away; try again in {retry_after or 'a few'} seconds"
        )
    if status != 202:
        raise CliError(
            f"refused (HTTP {status}): {error.get('field', '')} {error.get('message', '')}".strip()
        )
    if answer.get("id") != digest(envelope):
        raise CliError("the intake answered with another request id")
    return str(answer["id"])


def _paid_post(
    base: str, envelope: bytes, routing: dict[str, str], envelope_digest: bytes
) -> tuple[int, dict[str, Any], str | None]:
    """Fetch a challenge, solve it over this envelope, post; the intake's answer."""
    status, challenge, _ = _call(f"{base}/v1/challenge")
    if status != 200:
        raise CliError(f"the intake gave no challenge (HTTP {status})")
    nonce = solve(challenge["token"], envelope_digest, int(challenge["difficulty"]))
    body = {
        "routing": routing,
        "envelope": base64.b64encode(envelope).decode("ascii"),
        "pow": {"challenge": challenge["token"], "nonce": nonce},
    }
    # The intake checks the header's token before it reads the body.
    return _call(f"{base}/v1/requests", body, {CHALLENGE_HEADER: challenge["token"]})


def run(args: argparse.Namespace) -> int:
    envelope = read_bytes(args.envelope, "envelope", limit=MAX_ENVELOPE_BYTES)
    print(f"queued: {submit(envelope, args.url)}")
    return 0
