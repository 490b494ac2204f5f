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
    """Post one envelope; return the request id the intake confirmed."""
    try:
        labels = inspect(envelope).labels
    except EnvelopeFormatError as exc:
        raise CliError(f"not a valid envelope: {exc}") from None
    base = base_url.rstrip("/")
    status, challenge, _ = _call(f"{base}/v1/challenge")
    if status != 200:
        raise CliError(f"the intake gave no challenge (HTTP {status})")
    nonce = solve(
        challenge["token"], hashlib.sha256(envelope).digest(), int(challenge["difficulty"])
    )
    body = {
        "routing": labels.__dict__,
        "envelope": base64.b64encode(envelope).decode("ascii"),
        "pow": {"challenge": challenge["token"], "nonce": nonce},
    }
    # The intake checks the header's token before it reads the body.
    status, answer, retry_after = _call(
        f"{base}/v1/requests", body, {CHALLENGE_HEADER: challenge["token"]}
    )
    if status == 503:
        raise CliError(
            f"the intake is busy or its broker is away; try again in {retry_after or 'a few'} seconds"
        )
    if status != 202:
        error = answer.get("error", {})
        raise CliError(
            f"refused (HTTP {status}): {error.get('field', '')} {error.get('message', '')}".strip()
        )
    if answer.get("id") != digest(envelope):
        raise CliError("the intake answered with another request id")
    return str(answer["id"])


def run(args: argparse.Namespace) -> int:
    envelope = read_bytes(args.envelope, "envelope", limit=MAX_ENVELOPE_BYTES)
    print(f"queued: {submit(envelope, args.url)}")
    return 0
