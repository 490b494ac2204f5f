"""`haven network sign-site` and `haven check-site`: the code Haven's pages serve, signed and checked.

docs/site-integrity.md. Signing renders the installed intake's pages in
this process (no server, no broker, no database is touched) and reads
every script and stylesheet they load, so the manifest states exactly
what this installed Haven serves. Checking fetches the live site as a
browser would and compares it, line by line, with the signed manifest.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

from flask.testing import FlaskClient

from haven.broker import BrokerSettings
from haven.cli.common import CliError, Commands, add_passphrase_option, now, read_bytes, write_new
from haven.cli.keyfiles import load_network_key, load_verify_key
from haven.directory import DirectoryError
from haven.envelope import MAX_DOCUMENT_BYTES, NetworkKey
from haven.site import (
    DEFAULT_VALIDITY,
    MAX_VALIDITY,
    Answer,
    Fetcher,
    HttpFetcher,
    PageRequest,
    SeenManifestFile,
    SignedFile,
    SignedPage,
    SiteError,
    SiteManifest,
    SiteUnreachable,
    check,
    haven_pages,
    iso_utc,
    observe_site,
    sign_site_manifest,
    verify_site_manifest,
)
from haven.store import Store, StoreSettings
from haven.store.migrate import migrate
from intake import IntakeSettings, create_app
from intake.pages.views import STATIC_FILES
from intake.state import intake_state
from schemas.i18n import LANGUAGE_CODES
from schemas.routing import CATEGORIES

# check-site's exit statuses (docs/site-integrity.md): a watcher's cron
# tells "the site serves other code" from "the check could not be made".
EXIT_MATCH, EXIT_MISMATCH, EXIT_UNCHECKED = 0, 1, 2


def register_sign(network: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sign = network.add_parser(
        "sign-site",
        help="sign the site manifest: the code this installed intake's pages serve",
        description="Render the installed intake's pages in this process, hash every script and "
        "stylesheet they load, and sign the list with the network key (docs/site-integrity.md). "
        "Run it after every upgrade of the intake, and before the manifest expires.",
    )
    sign.add_argument(
        "--key", type=Path, required=True, metavar="FILE", help="the network's signing key file"
    )
    sign.add_argument(
        "--directory",
        type=Path,
        required=True,
        metavar="FILE",
        help="the network's current signed directory (the pages are rendered with it)",
    )
    sign.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="FILE",
        help="manifest to write; an existing one of this network is replaced by the next version",
    )
    sign.add_argument(
        "--valid-days",
        type=int,
        default=DEFAULT_VALIDITY.days,
        help=f"days until it expires (default {DEFAULT_VALIDITY.days}, at most {MAX_VALIDITY.days})",
    )
    add_passphrase_option(sign)
    sign.set_defaults(handler=run_sign)


def register(commands: Commands) -> None:
    check_site = commands.add_parser(
        "check-site",
        help="check that a live intake serves the code its network signed",
        description="Fetch the site's signed manifest, verify it against the pinned network key, "
        "then fetch every page and every script and stylesheet as a browser would and compare "
        "them with it. One line per mismatch. Exit 0: the site serves the signed code; 1: it "
        "does not; 2: the check could not be made (unreachable, no manifest, bad signature, "
        "expired, older than the version --state has seen). "
        "Over Tor: torsocks haven check-site http://….onion --network-key FILE",
    )
    check_site.add_argument(
        "url", metavar="URL", help="the intake's origin, e.g. https://intake.example"
    )
    check_site.add_argument(
        "--network-key", type=Path, required=True, metavar="FILE", help="pinned network verify key"
    )
    check_site.add_argument(
        "--network-id", metavar="ID", help="also require the manifest to be this network's"
    )
    check_site.add_argument(
        "--state",
        type=Path,
        metavar="FILE",
        help="remember the newest manifest version seen for this network in FILE, and refuse an "
        "older one (a rollback to an older release); recommended for scheduled watchers",
    )
    check_site.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="deadline for each whole answer (default 30)",
    )
    check_site.set_defaults(handler=run_check)


class _NoPublisher:
    """Signing renders pages only: nothing is ever published, no broker is contacted."""

    def publish(self, envelope: bytes, *, message_id: str) -> None:
        raise RuntimeError("the site manifest is made without a broker")

    def ready(self) -> bool:
        return False

    def watch(self, queues: Iterable[str]) -> None:
        return None

    def backlog(self) -> int | None:
        return None

    def close(self) -> None:
        return None


def _client_fetcher(client: FlaskClient) -> Fetcher:
    def fetch(request: PageRequest) -> Answer:
        body = urlencode(request.form) if request.method == "POST" else None
        response = client.open(
            request.path,
            method=request.method,
            data=body,
            content_type="application/x-www-form-urlencoded" if body is not None else None,
        )
        return Answer(
            status=response.status_code,
            csp=tuple(response.headers.getlist("Content-Security-Policy")),
            body=response.get_data(),
            headers=tuple(response.headers.items()),
        )

    return fetch


def _next_version(path: Path, key: NetworkKey) -> int:
    """1, or one past the manifest already at `path` (which must be this network's)."""
    if not path.exists():
        return 1
    document = read_bytes(path, "site manifest", limit=MAX_DOCUMENT_BYTES)
    try:
        previous = verify_site_manifest(document, key.verify_key, now=now(), allow_expired=True)
    except SiteError as exc:
        raise CliError(
            f"{path} is not a site manifest of this network ({exc}); choose another --out"
        ) from None
    return previous.version + 1


def run_sign(args: argparse.Namespace) -> int:
    if not 1 <= args.valid_days <= MAX_VALIDITY.days:
        raise CliError(f"--valid-days must be between 1 and {MAX_VALIDITY.days}")
    key = load_network_key(args.key, args)
    version = _next_version(args.out, key)
    with tempfile.TemporaryDirectory(prefix="haven-sign-site-") as scratch:
        settings = IntakeSettings(
            broker=BrokerSettings(),
            # An empty store of its own, thrown away: the pages walked here
            # post no ticket, but every request sweeps expired mailboxes, and
            # a store without tables would warn of a failure that is none.
            store=StoreSettings(url=f"sqlite:///{Path(scratch) / 'scratch.sqlite3'}"),
            directory_file=args.directory,
            network_verify_key=key.verify_key,
            pow_secret=os.urandom(32),
        )
        store = Store(settings.store)
        try:
            migrate(store)
            pages, files, network_id = _walk_installed_site(settings, store)
        finally:
            store.close()
    issued = now().replace(microsecond=0)
    manifest = SiteManifest(
        network_id=network_id,
        version=version,
        issued_at=issued,
        expires_at=issued + timedelta(days=args.valid_days),
        pages=tuple(pages),
        files=tuple(files),
    )
    write_new(args.out, sign_site_manifest(manifest, key), force=True)
    print(
        f"site manifest {network_id} version {version}: {len(pages)} pages, {len(files)} files, "
        f"valid until {iso_utc(manifest.expires_at)}"
    )
    return 0


def _walk_installed_site(
    settings: IntakeSettings, store: Store
) -> tuple[list[SignedPage], list[SignedFile], str]:
    """What this installed intake serves, page by page and file by file, and its network id."""
    try:
        app = create_app(settings, publisher=_NoPublisher(), store=store)
    except DirectoryError as exc:
        raise CliError(str(exc)) from None
    with app.app_context():
        network_id = intake_state().directory.current().directory.network_id
    fetch = _client_fetcher(app.test_client())
    try:
        pages, files = observe_site(
            fetch,
            haven_pages(LANGUAGE_CODES, CATEGORIES),
            [f"/static/{name}" for name in STATIC_FILES],
        )
    except ValueError as exc:
        raise CliError(f"the installed intake cannot be signed: {exc}") from None
    return pages, files, network_id


def printable(line: str) -> str:
    """`line` with every character a terminal would act on written as an escape.

    A mismatch line quotes what the site served (an attribute, a header): a
    compromised intake could put a newline in it to break "one line per
    mismatch", or terminal controls that erase the line or rewrite the screen
    into "serves the signed code" for the person reading it.
    """
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in line)


def run_check(args: argparse.Namespace) -> int:
    try:
        pinned = load_verify_key(args.network_key)
        if not 0 < args.timeout <= 300:
            raise CliError("--timeout must be between 0 and 300 seconds")
        fetch = HttpFetcher(args.url, timeout=args.timeout)
        state = SeenManifestFile(args.state) if args.state is not None else None
        result = check(fetch, pinned, now=now(), network_id=args.network_id, state=state)
    except (CliError, ValueError, SiteError, SiteUnreachable) as exc:
        print(f"haven check-site: could not check: {exc}", file=sys.stderr)
        return EXIT_UNCHECKED
    manifest = result.manifest
    signed = (
        f"site manifest {manifest.network_id} version {manifest.version}, "
        f"valid until {iso_utc(manifest.expires_at)}"
    )
    for line in result.mismatches:
        print(printable(line))
    if result.mismatches:
        count = len(result.mismatches)
        print(
            f"haven check-site: {fetch.origin} does not serve the signed code: "
            f"{count} mismatch{'es' if count != 1 else ''} against the {signed}",
            file=sys.stderr,
        )
        return EXIT_MISMATCH
    print(
        f"{fetch.origin} serves the signed code: {len(manifest.pages)} pages and "
        f"{len(manifest.files)} files match the {signed}"
    )
    return EXIT_MATCH
