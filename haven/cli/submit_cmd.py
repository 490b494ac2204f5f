"""`haven submit`: send a request to an intake, as a requester's device does.

Takes a sealed envelope (from `haven seal`), or a content document that it
seals itself, as the web form does: to the partners of the intake's
directory, verified against the network key the requester pinned. A request
answered through Haven gets its receipt code here, shown once when the
intake has confirmed the request. Then the proof of work over the envelope's
digest (docs/intake-api.md) and the post (haven.cli.intake_client). Used by
the demo network and by requesters who prefer a command line to the web form.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
from pathlib import Path

from haven.cli.common import CliError, Commands, read_bytes
from haven.cli.intake_client import fetch_directory, paid_post, refusal
from haven.cli.receipt import (
    add_code_file_option,
    hand_over_code,
    release_code_file,
    reserve_code_file,
)
from haven.cli.seal_cmd import load_request, seal_content
from haven.directory import DirectoryError, recipient_keys
from haven.envelope import MAX_ENVELOPE_BYTES, EnvelopeFormatError, digest, inspect
from haven.replies import ReceiptCode

REQUESTS_PATH = "/v1/requests"
FOLLOW_UPS_PATH = "/v1/follow-ups"


def register(commands: Commands) -> None:
    parser = commands.add_parser(
        "submit",
        help="send a request to an intake",
        description="Send a request to a Haven intake: a sealed envelope, or a content document (JSON) "
        "sealed here to the partners of the intake's directory, verified against --network-key. "
        "A request answered through Haven (fields.contact_channel haven_reply) gets a receipt code, "
        "shown once. Solves the intake's proof of work, posts, prints the request id.",
    )
    parser.add_argument("request", type=Path, help="an envelope, or a content document (JSON)")
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="the intake's base URL")
    group = parser.add_argument_group("for a content document")
    group.add_argument(
        "--network-key", type=Path, metavar="FILE", help="the network's verify key you pinned"
    )
    group.add_argument("--region")
    group.add_argument("--language")
    group.add_argument("--urgency", default="normal")
    add_code_file_option(parser)
    parser.set_defaults(handler=run)


def submit(envelope: bytes, base_url: str, *, path: str = REQUESTS_PATH) -> str:
    """Post one envelope; return the request id the intake confirmed.

    `path` is /v1/follow-ups for a follow-up, whose body is a submission's.
    """
    try:
        labels = inspect(envelope).labels
    except EnvelopeFormatError as exc:
        raise CliError(f"not a valid envelope: {exc}") from None
    body = {
        "routing": labels.__dict__,
        "envelope": base64.b64encode(envelope).decode("ascii"),
    }
    status, answer, retry_after = paid_post(
        base_url.rstrip("/"), path, hashlib.sha256(envelope).digest(), body
    )
    if status != 202:
        raise refusal(status, answer, retry_after)
    if answer.get("id") != digest(envelope):
        raise CliError("the intake answered with another request id")
    return str(answer["id"])


def _is_content(raw: bytes) -> bool:
    # An envelope starts with its binary magic; a content document is JSON.
    return raw.lstrip()[:1] == b"{"


def _seal_from_intake(args: argparse.Namespace, raw: bytes) -> tuple[bytes, ReceiptCode | None]:
    needed = {
        "--network-key": args.network_key,
        "--region": args.region,
        "--language": args.language,
    }
    missing = [flag for flag, value in needed.items() if value is None]
    if missing:
        raise CliError(f"a content document needs {', '.join(missing)} to be sealed")
    content, labels, code = load_request(
        raw, region=args.region, language=args.language, urgency=args.urgency
    )
    directory = fetch_directory(args.url.rstrip("/"), args.network_key)
    try:
        recipients = recipient_keys(directory, labels.category, labels.region)
    except DirectoryError as exc:
        raise CliError(str(exc)) from None
    return seal_content(content, labels, recipients), code


def run(args: argparse.Namespace) -> int:
    raw = read_bytes(args.request, "request", limit=MAX_ENVELOPE_BYTES)
    if not _is_content(raw):
        if args.code_file is not None:
            raise CliError(
                "--code-file: an envelope is sealed already; its code was made by `haven seal`"
            )
        print(f"queued: {submit(raw, args.url)}")
        return 0
    # The code file is made before anything is sent, so a request never
    # leaves without a place for its code; it is removed if nothing was sent.
    reserve_code_file(args.code_file)
    try:
        envelope, code = _seal_from_intake(args, raw)
        request_id = submit(envelope, args.url)
    except BaseException:
        release_code_file(args.code_file)
        raise
    print(f"queued: {request_id}")
    hand_over_code(code, args.code_file)
    return 0
