"""`haven check-site` against the real intake served on loopback, with a manifest signed by `haven network sign-site`.

The intake is the real app (real network key, real directory, real
broker), behind Werkzeug's real HTTP server. A compromised intake is
played by a WSGI layer in front of it that changes what goes out: the
bundle's bytes, a page's HTML, a header, the manifest document.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from haven.broker import ConfirmedPublisher
from haven.cli.main import main
from haven.envelope import NetworkKey, sign_document, wrap_private_key
from haven.site import SiteError, sign_site_manifest, verify_site_manifest
from haven.store import Store
from intake import IntakeSettings, create_app
from intake.serving.quiet import QuietRequestHandler
from tests.intake.conftest import FakeClock, NetworkFiles

pytestmark = pytest.mark.broker

PASSPHRASE = "site manifest test passphrase"
BUNDLE = "/static/haven-form.js"
FORM_PAGE = "POST / step=form lang=ru category=desertion"

# WSGI: (environ, start_response) -> body chunks.
Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
# What the "compromised intake" does to one answer: (path, headers, body) -> (headers, body).
Tamper = Callable[[str, list[tuple[str, str]], bytes], tuple[list[tuple[str, str]], bytes]]


def tampering(app: Wsgi, tamper: Tamper) -> Wsgi:
    """`app` with every answer passed through `tamper` on its way out."""

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        held: dict[str, Any] = {}

        def hold(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            held["status"], held["headers"] = status, headers
            return lambda data: None

        body = b"".join(app(environ, hold))
        headers, body = tamper(environ["PATH_INFO"], list(held["headers"]), body)
        headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        start_response(held["status"], [*headers, ("Content-Length", str(len(body)))])
        return [body]

    return wrapped


@pytest.fixture
def signed_site(tmp_path: Path, files: NetworkFiles) -> Path:
    """The manifest `haven network sign-site` makes of this installed intake, with the test network's key."""
    key_file = tmp_path / "network.key"
    key_file.write_bytes(wrap_private_key(files.network_key.seed, PASSPHRASE, kind="network"))
    passphrase = tmp_path / "passphrase"
    passphrase.write_text(PASSPHRASE + "\n")
    out = tmp_path / "site-manifest.json"
    argv = ["network", "sign-site", "--key", str(key_file), "--directory", str(files.directory_file),
            "--out", str(out), "--passphrase-file", str(passphrase)]  # fmt: skip
    assert main(argv, {}) == 0
    return out


@pytest.fixture
def serve(
    settings: IntakeSettings,
    publisher: ConfirmedPublisher,
    store: Store,
    signed_site: Path,
) -> Iterator[Callable[..., str]]:
    """Start the real intake on a loopback port, optionally behind a tampering layer; its origin."""
    servers = []

    def start(tamper: Tamper | None = None, manifest: Path = signed_site) -> str:
        app = create_app(
            dataclasses.replace(settings, site_manifest_file=manifest),
            publisher=publisher,
            store=store,
        )
        wsgi: Wsgi = app if tamper is None else tampering(app, tamper)
        server = make_server(
            "127.0.0.1", 0, wsgi, threaded=True, request_handler=QuietRequestHandler
        )
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def check_site(
    capsys: pytest.CaptureFixture[str], url: str, key_file: Path, *options: str
) -> tuple[int, list[str], str]:
    code = main(["check-site", url, "--network-key", str(key_file), *options], {})
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def test_the_published_site_passes(
    serve: Callable[..., str], files: NetworkFiles, capsys: pytest.CaptureFixture[str]
) -> None:
    url = serve()
    code, lines, err = check_site(capsys, url, files.verify_key_file)
    assert (code, err) == (0, "")
    assert lines == [
        f"{url} serves the signed code: 22 pages and 6 files match the site manifest "
        f"haven-test version 1, valid until {lines[0].rsplit(' ', 1)[1]}"
    ]


def test_a_tampered_bundle_fails_with_one_line_naming_it(
    serve: Callable[..., str], files: NetworkFiles, capsys: pytest.CaptureFixture[str]
) -> None:
    def leak(path: str, headers: list[tuple[str, str]], body: bytes) -> Any:
        if path == BUNDLE:
            body += b'\n;addEventListener("input",e=>fetch("/v1/x?"+e.target.value));\n'
        return headers, body

    code, lines, err = check_site(capsys, serve(leak), files.verify_key_file)
    assert code == 1
    assert len(lines) == 1
    assert re.fullmatch(
        rf"{BUNDLE}: sha256 [0-9a-f]{{64}} is not the signed [0-9a-f]{{64}}", lines[0]
    )
    assert "1 mismatch against the site manifest haven-test version 1" in err


def test_an_unlisted_inline_script_fails(
    serve: Callable[..., str], files: NetworkFiles, capsys: pytest.CaptureFixture[str]
) -> None:
    def inject(path: str, headers: list[tuple[str, str]], body: bytes) -> Any:
        if path == "/" and b"<!doctype html>" in body:
            body = body.replace(b"</head>", b"<script>fetch('/x?'+document.cookie)</script></head>")
        return headers, body

    code, lines, _ = check_site(capsys, serve(inject), files.verify_key_file)
    assert code == 1
    # Every page is served at "/": the language page and each posted step
    # (help, the forms, the answers pages).
    assert len(lines) == 22
    assert lines[0].startswith("page GET /: unlisted inline-script sha256=")
    assert all(": unlisted inline-script sha256=" in line for line in lines)


def test_a_swapped_network_key_in_the_form_config_fails(
    serve: Callable[..., str], files: NetworkFiles, capsys: pytest.CaptureFixture[str]
) -> None:
    # The bundle takes its pinned key from the page: another key there
    # would make it trust an attacker's directory, and seal to the attacker.
    other = base64.b64encode(NetworkKey.generate().verify_key.raw)
    pinned = base64.b64encode(files.network_key.verify_key.raw)

    def swap(path: str, headers: list[tuple[str, str]], body: bytes) -> Any:
        return headers, body.replace(pinned, other)

    code, lines, _ = check_site(capsys, serve(swap), files.verify_key_file)
    assert code == 1
    assert len(lines) == 18  # each form page and each answers page, in three languages
    assert any(line.startswith(f"page {FORM_PAGE}: inline-script sha256=") for line in lines)
    assert all(", signed inline-script sha256=" in line for line in lines)


def test_a_weaker_content_security_policy_fails(
    serve: Callable[..., str], files: NetworkFiles, capsys: pytest.CaptureFixture[str]
) -> None:
    def weaken(path: str, headers: list[tuple[str, str]], body: bytes) -> Any:
        if path == BUNDLE:
            headers = [
                (k, v.replace("connect-src 'self'", "connect-src *"))
                if k == "Content-Security-Policy"
                else (k, v)
                for k, v in headers
            ]
        return headers, body

    code, lines, _ = check_site(capsys, serve(weaken), files.verify_key_file)
    assert code == 1
    assert len(lines) == 1
    assert lines[0].startswith(f'{BUNDLE}: Content-Security-Policy "default-src')
    assert "connect-src *" in lines[0]


@pytest.mark.parametrize(
    "stop",
    [
        # Under nosniff a browser never runs a script served as text.
        lambda path, headers, body: (
            [
                (k, "text/plain") if k == "Content-Type" and path == BUNDLE else (k, v)
                for k, v in headers
            ],
            body,
        ),
        # Without its form the bundle does nothing.
        lambda path, headers, body: (headers, body.replace(b'id="haven-form"', b'id="haven-f0rm"')),
        # Either way the form falls back to posting what is typed to the intake in the clear.
        lambda path, headers, body: (headers, body.replace(b"<script ", b"<script nomodule ")),
    ],
    ids=["bundle-as-text", "form-renamed", "nomodule"],
)
def test_a_site_that_stops_the_signed_bundle_fails(
    serve: Callable[..., str],
    files: NetworkFiles,
    capsys: pytest.CaptureFixture[str],
    stop: Tamper,
) -> None:
    code, lines, _ = check_site(capsys, serve(stop), files.verify_key_file)
    assert code == 1
    assert lines


def test_a_manifest_signed_by_another_key_cannot_be_checked(
    serve: Callable[..., str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.pub"
    other.write_text(NetworkKey.generate().verify_key.to_text() + "\n")
    code, lines, err = check_site(capsys, serve(), other)
    assert (code, lines) == (2, [])
    assert err == (
        "haven check-site: could not check: site manifest refused: "
        "signature does not verify against the pinned network key\n"
    )


def test_a_manifest_altered_in_transit_cannot_be_checked(
    serve: Callable[..., str], files: NetworkFiles, capsys: pytest.CaptureFixture[str]
) -> None:
    def alter(path: str, headers: list[tuple[str, str]], body: bytes) -> Any:
        if path == "/v1/site-manifest":
            document = json.loads(body)
            payload = json.loads(base64.b64decode(document["payload"]))
            # The tampered bundle's hash, written into the manifest.
            payload["files"][2]["sha256"] = "0" * 64
            document["payload"] = base64.b64encode(json.dumps(payload).encode()).decode()
            body = json.dumps(document).encode()
        return headers, body

    code, lines, err = check_site(capsys, serve(alter), files.verify_key_file)
    assert (code, lines) == (2, [])
    assert "signature does not verify against the pinned network key" in err


def test_an_expired_manifest_cannot_be_checked(
    serve: Callable[..., str],
    files: NetworkFiles,
    signed_site: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    current = verify_site_manifest(
        signed_site.read_bytes(), files.network_key.verify_key, now=datetime.now(UTC)
    )
    issued = datetime.now(UTC).replace(microsecond=0) - timedelta(days=20)
    expired = tmp_path / "expired.json"
    expired.write_bytes(
        sign_site_manifest(
            dataclasses.replace(current, issued_at=issued, expires_at=issued + timedelta(days=14)),
            files.network_key,
        )
    )
    code, lines, err = check_site(capsys, serve(manifest=expired), files.verify_key_file)
    assert (code, lines) == (2, [])
    assert re.fullmatch(
        r"haven check-site: could not check: site manifest version 1 expired at \S+Z\n", err
    )


def test_a_directory_signature_is_no_manifest(files: NetworkFiles) -> None:
    # The same key signs both: the purpose keeps one from passing for the other.
    document = sign_document(b"{}", files.network_key, purpose="directory")
    with pytest.raises(SiteError, match="not signed for 'site-manifest'"):
        verify_site_manifest(document, files.network_key.verify_key, now=datetime.now(UTC))


def test_the_intake_serves_the_manifest_as_signed_and_404_without_one(
    settings: IntakeSettings,
    publisher: ConfirmedPublisher,
    store: Store,
    signed_site: Path,
    clock: FakeClock,
) -> None:
    without = create_app(settings, publisher=publisher, store=store, clock=clock).test_client()
    missing = without.get("/v1/site-manifest")
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "not_found"
    configured = dataclasses.replace(settings, site_manifest_file=signed_site)
    client = create_app(configured, publisher=publisher, store=store, clock=clock).test_client()
    served = client.get("/v1/site-manifest")
    assert served.status_code == 200
    assert served.headers["Cache-Control"] == "no-store"
    assert served.get_data() == signed_site.read_bytes()


def test_the_intake_refuses_to_start_on_another_networks_manifest(
    settings: IntakeSettings,
    publisher: ConfirmedPublisher,
    store: Store,
    signed_site: Path,
    tmp_path: Path,
) -> None:
    forged = tmp_path / "forged.json"
    current = verify_site_manifest(
        signed_site.read_bytes(), settings.network_verify_key, now=datetime.now(UTC)
    )
    forged.write_bytes(sign_site_manifest(current, NetworkKey.generate()))
    with pytest.raises(SiteError, match="signature does not verify"):
        create_app(
            dataclasses.replace(settings, site_manifest_file=forged),
            publisher=publisher,
            store=store,
        )


def resigned(signed_site: Path, files: NetworkFiles, tmp_path: Path, **changes: Any) -> Path:
    """The published manifest with `changes`, signed again by the network key: what a rollback replays."""
    current = verify_site_manifest(
        signed_site.read_bytes(), files.network_key.verify_key, now=datetime.now(UTC)
    )
    path = tmp_path / f"manifest-{len(list(tmp_path.glob('manifest-*')))}.json"
    path.write_bytes(sign_site_manifest(dataclasses.replace(current, **changes), files.network_key))
    return path


def seen(state: Path) -> tuple[str, int]:
    record = json.loads(state.read_text())
    return record["network_id"], record["version"]


def test_state_is_created_and_a_newer_manifest_remembered(
    serve: Callable[..., str],
    files: NetworkFiles,
    signed_site: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    state = tmp_path / "watch" / "seen-site.json"
    code, _, err = check_site(capsys, serve(), files.verify_key_file, "--state", str(state))
    assert (code, err) == (0, "")
    assert seen(state) == ("haven-test", 1)
    # The same manifest again passes: watchers check the same release many times.
    assert check_site(capsys, serve(), files.verify_key_file, "--state", str(state))[0] == 0
    newer = resigned(signed_site, files, tmp_path, version=2)
    code, lines, err = check_site(
        capsys, serve(manifest=newer), files.verify_key_file, "--state", str(state)
    )
    assert (code, err) == (0, "")
    assert "site manifest haven-test version 2" in lines[0]
    assert seen(state) == ("haven-test", 2)


def test_an_older_manifest_than_seen_is_a_rollback(
    serve: Callable[..., str],
    files: NetworkFiles,
    signed_site: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    state = tmp_path / "seen-site.json"
    newer = resigned(signed_site, files, tmp_path, version=2)
    assert (
        check_site(capsys, serve(manifest=newer), files.verify_key_file, "--state", str(state))[0]
        == 0
    )
    # The compromised intake goes back to the older release and its still-valid manifest.
    code, lines, err = check_site(capsys, serve(), files.verify_key_file, "--state", str(state))
    assert (code, lines) == (2, [])
    assert err == (
        "haven check-site: could not check: "
        "site manifest version 1 is older than version 2 already seen\n"
    )
    assert seen(state) == ("haven-test", 2)


def test_two_manifests_under_one_version_cannot_be_checked(
    serve: Callable[..., str],
    files: NetworkFiles,
    signed_site: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    state = tmp_path / "seen-site.json"
    assert check_site(capsys, serve(), files.verify_key_file, "--state", str(state))[0] == 0
    issued = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    other = resigned(
        signed_site, files, tmp_path, issued_at=issued, expires_at=issued + timedelta(days=2)
    )
    code, lines, err = check_site(
        capsys, serve(manifest=other), files.verify_key_file, "--state", str(state)
    )
    assert (code, lines) == (2, [])
    assert err == (
        "haven check-site: could not check: "
        "site manifest version 1 differs from the version 1 already seen\n"
    )


def test_an_unverified_manifest_never_moves_the_state(
    serve: Callable[..., str],
    signed_site: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    other = tmp_path / "other.pub"
    other.write_text(NetworkKey.generate().verify_key.to_text() + "\n")
    state = tmp_path / "seen-site.json"
    code, _, err = check_site(capsys, serve(), other, "--state", str(state))
    assert code == 2
    assert "signature does not verify" in err
    assert not state.exists()


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        '{"network_id": "haven-test", "version": "5", "payload_sha256": ""}',
        '{"network_id": "haven-test"}',
        None,  # a directory where the file should be: unreadable
    ],
)
def test_a_damaged_state_file_cannot_be_checked(
    content: str | None,
    serve: Callable[..., str],
    files: NetworkFiles,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    state = tmp_path / "seen-site.json"
    if content is None:
        state.mkdir()
    else:
        state.write_text(content)
    code, lines, err = check_site(capsys, serve(), files.verify_key_file, "--state", str(state))
    assert (code, lines) == (2, [])
    assert len(err.splitlines()) == 1
    assert err.startswith("haven check-site: could not check: ")
    assert str(state) in err
    # Never reset: a damaged guard is a person's job, not silently a fresh start.
    assert content is None or state.read_text() == content
