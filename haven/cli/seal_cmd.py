"""`haven seal` and `haven open`: envelopes from the command line."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from haven.cli.common import (
    CliError,
    Commands,
    add_force_option,
    add_passphrase_option,
    is_stdin,
    read_input,
    write_new,
)
from haven.cli.keyfiles import load_private_key, load_public_key
from haven.cli.network_cmd import load_verified
from haven.cli.receipt import (
    REPLY_MEMBERS,
    add_code_file_option,
    hand_over_code,
    release_code_file,
    reserve_code_file,
    with_reply_keys,
)
from haven.directory import DirectoryError, recipient_keys
from haven.envelope import (
    MAX_ENVELOPE_BYTES,
    EnvelopeFormatError,
    Labels,
    OpenError,
    PublicKey,
    inspect,
    open_envelope,
    seal,
)
from haven.replies import ReceiptCode
from schemas.content import (
    MAX_SERIALIZED_CONTENT,
    ContentError,
    RequestContent,
    content_from_json_bytes,
    content_to_json_bytes,
)
from schemas.routing import RoutingSchema

# The single opening error of docs/envelope-v1.md section 8, as the CLI words it.
OPEN_FAILURE = "envelope cannot be opened with this key (not a recipient, or tampered with)"


def register(commands: Commands) -> None:
    sealer = commands.add_parser(
        "seal",
        help="seal a request to the partners of its category",
        description="Validate a request (JSON content document) and seal it to the keys of every partner "
        "that serves its category in the region, from a directory verified against the pinned network key; "
        "or, with --to, to the given public keys. A request answered through Haven "
        "(fields.contact_channel haven_reply) gets a new receipt code, shown once.",
    )
    sealer.add_argument(
        "content", type=Path, nargs="?", help="content document (JSON); default: standard input"
    )
    sealer.add_argument(
        "--out", type=Path, required=True, metavar="FILE", help="envelope file to write"
    )
    sealer.add_argument("--region", required=True)
    sealer.add_argument("--language", required=True)
    sealer.add_argument("--urgency", required=True)
    sealer.add_argument("--directory", type=Path, metavar="FILE", help="signed directory")
    sealer.add_argument(
        "--network-key", type=Path, metavar="FILE", help="pinned network verify key"
    )
    sealer.add_argument(
        "--to",
        type=Path,
        action="append",
        metavar="FILE",
        help="seal to this public key file instead (repeatable)",
    )
    add_code_file_option(sealer)
    add_force_option(sealer)
    sealer.set_defaults(handler=run_seal)

    opener = commands.add_parser(
        "open",
        help="open an envelope with a partner key",
        description="Open an envelope locally with a partner's private key; print its routing labels and content.",
    )
    opener.add_argument(
        "envelope", type=Path, help="envelope file, or - for standard input (read boundedly)"
    )
    opener.add_argument(
        "--key",
        type=Path,
        required=True,
        action="append",
        metavar="FILE",
        help="partner key file (repeat for rotated keys with one passphrase)",
    )
    opener.add_argument("--json", action="store_true", help="print one JSON object")
    add_passphrase_option(opener)
    opener.set_defaults(handler=run_open)


def load_request(
    raw: bytes, *, region: str, language: str, urgency: str
) -> tuple[RequestContent, Labels, ReceiptCode | None]:
    """A content document checked, with its routing labels; and a new receipt code if it asks for one.

    A request that asks for a reply through Haven gets its code here, at
    sealing, on the requester's own machine: its keys go inside the
    envelope (docs/replies-v1.md section 2), and nothing else ever holds it.
    """
    raw, code = with_reply_keys(raw, language)
    try:
        content = content_from_json_bytes(raw)
    except ContentError as exc:
        raise CliError(f"content document: {exc}") from None
    routing = {
        "category": content.category,
        "region": region,
        "language": language,
        "urgency": urgency,
    }
    errors = RoutingSchema().validate(routing)
    if errors:
        field, reasons = next(iter(sorted(errors.items())))
        raise CliError(f"--{field}: {reasons[0] if isinstance(reasons, list) else reasons}")
    return content, Labels(**routing), code


def seal_content(content: RequestContent, labels: Labels, recipients: list[PublicKey]) -> bytes:
    try:
        return seal(content_to_json_bytes(content), labels, recipients)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def run_seal(args: argparse.Namespace) -> int:
    raw = read_input(args.content, "content document", limit=MAX_SERIALIZED_CONTENT)
    reserve_code_file(args.code_file)
    try:
        content, labels, code = load_request(
            raw, region=args.region, language=args.language, urgency=args.urgency
        )
        if args.to:
            recipients = [load_public_key(path) for path in args.to]
        elif args.directory and args.network_key:
            directory = load_verified(args.directory, args.network_key)
            try:
                recipients = recipient_keys(directory, labels.category, labels.region)
            except DirectoryError as exc:
                raise CliError(str(exc)) from None
        else:
            raise CliError("give --directory and --network-key, or --to")
        envelope = seal_content(content, labels, recipients)
        write_new(args.out, envelope, force=args.force)
    except BaseException:
        release_code_file(args.code_file)
        raise
    print(f"sealed to {len(recipients)} keys: {len(envelope)} bytes")
    hand_over_code(code, args.code_file)
    return 0


def run_open(args: argparse.Namespace) -> int:
    # At most MAX_ENVELOPE_BYTES + 1 bytes are ever read, from a file, a pipe,
    # a device or standard input: /dev/zero given by mistake must not fill memory.
    envelope = read_input(args.envelope, "envelope", limit=MAX_ENVELOPE_BYTES)
    source = "standard input" if is_stdin(args.envelope) else str(args.envelope)
    # Inspection first, before any key is unwrapped: a broken structure is
    # public (anyone can check it without a key), so naming the rule broken
    # tells nobody anything (docs/envelope-v1.md section 8).
    try:
        inspect(envelope)
    except EnvelopeFormatError as exc:
        raise CliError(f"{source}: not a valid envelope: {exc}") from None
    keys = [load_private_key(path, args) for path in args.key]
    try:
        opened = open_envelope(envelope, keys)
    except OpenError:
        # Past inspection, every failure is the one opening error: which step
        # failed is an oracle for whoever crafted the envelope.
        raise CliError(f"{source}: {OPEN_FAILURE}") from None
    try:
        content = content_from_json_bytes(opened.content)
    except ContentError as exc:
        raise CliError(
            f"{args.envelope}: opened, but the content is not a valid request: {exc}"
        ) from None
    # The content carries its own category; a mismatch means the sender lied
    # about the label that routed it.
    if content.category != opened.labels.category:
        raise CliError(f"{args.envelope}: content category does not match the routing label")
    document = json.loads(content_to_json_bytes(content))
    if args.json:
        out = {
            "routing": opened.labels.__dict__,
            "server_sealed": opened.server_sealed,
            "content": document,
        }
        print(json.dumps(out, ensure_ascii=False, indent=1))
        return 0
    labels = opened.labels
    print(
        f"category: {labels.category}  region: {labels.region}  language: {labels.language}  urgency: {labels.urgency}"
    )
    if opened.server_sealed:
        print("server-sealed: the intake saw this text in memory (sent without JavaScript)")
    # The way back (reply key, mailbox id, access hash) is for the toolkit,
    # not for reading: --json keeps it; here one line says it is there.
    shown = {k: v for k, v in document.items() if k not in REPLY_MEMBERS}
    sys.stdout.write(json.dumps(shown, ensure_ascii=False, indent=1) + "\n")
    if shown != document:
        print("replies: through Haven (haven partner reply / status, docs/partner-toolkit.md)")
    return 0
