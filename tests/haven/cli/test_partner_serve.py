"""`haven partner serve`: refuses a network bind without TLS; serves the inbox in one process."""

from __future__ import annotations

import datetime
import http.cookiejar
import ipaddress
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from haven.envelope import PrivateKey
from haven.partner.web import ServeSettings
from haven.partner.web.security import CONTENT_SECURITY_POLICY
from tests.team_inbox import MEMBER, MEMBER_PASSPHRASE, make_team


def _haven(
    *args: str | Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "haven.cli.main", *map(str, args)],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("bind", ["0.0.0.0", "192.0.2.10", "::"])  # noqa: S104 - the refused binds
def test_a_network_bind_without_tls_is_refused_in_one_line(tmp_path: Path, bind: str) -> None:
    done = _haven("partner", "serve", "--inbox", tmp_path, "--partner", "alpha", "--bind", bind)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "TLS" in lines[0] and bind in lines[0]
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_half_the_tls_settings_are_refused(tmp_path: Path) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text("not used")
    done = _haven("partner", "serve", "--inbox", tmp_path, "--partner", "alpha", "--tls-cert", cert)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1


def test_an_inbox_without_a_team_is_refused(tmp_path: Path) -> None:
    done = _haven(
        "partner",
        "serve",
        "--inbox",
        tmp_path / "none",
        "--partner",
        "alpha",
        env={"HAVEN_AMQP_URL": "amqp://guest:guest@127.0.0.1:5672/%2F"},
    )
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1 and "team init" in done.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_it_serves_the_unlock_page_from_one_process_without_an_access_log(tmp_path: Path) -> None:
    root = tmp_path / "inbox"
    make_team(root, PrivateKey.generate())
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "haven.cli.main",
            "partner",
            "serve",
            "--inbox",
            str(root),
            "--partner",
            "alpha",
            "--port",
            str(port),
        ],
        env={**os.environ, "HAVEN_AMQP_URL": "amqp://guest:guest@127.0.0.1:5672/%2F"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/unlock", timeout=5) as answer:
                    assert answer.status == 200
                    assert answer.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
                    assert 'id="unlock-form"' in answer.read().decode()
                break
            except OSError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "the inbox did not start"
                time.sleep(0.2)
        # Another name for this machine (a DNS-rebinding page's): not answered.
        foreign = urllib.request.Request(
            f"http://127.0.0.1:{port}/unlock", headers={"Host": "rebind.example:80"}
        )
        try:
            urllib.request.urlopen(foreign, timeout=5)  # noqa: S310 - our own test server
            rebound = 200
        except urllib.error.HTTPError as refused:
            rebound = refused.code
    finally:
        server.send_signal(signal.SIGTERM)
        _out, err = server.communicate(timeout=30)
    assert rebound == 400
    assert f"http://127.0.0.1:{port}/" in err
    # No access log: neither the path nor the client's address.
    assert "GET /unlock" not in err and '"GET' not in err


def test_an_idle_lock_under_one_second_is_refused(tmp_path: Path) -> None:
    # The page's timer counts whole seconds: under one it would never lock the page.
    done = _haven(
        "partner", "serve", "--inbox", tmp_path, "--partner", "alpha", "--idle-lock", "0.5"
    )
    assert done.returncode == 2 and "--idle-lock" in done.stderr
    assert "Traceback" not in done.stderr
    with pytest.raises(ValueError, match="idle_lock"):
        ServeSettings(inbox=tmp_path, partner_id="alpha", idle_lock=0.5)


def test_a_host_name_with_a_port_or_odd_characters_is_refused(tmp_path: Path) -> None:
    for name in ("inbox.example.org:443", "inbox example", "http://inbox.example.org"):
        done = _haven("partner", "serve", "--inbox", tmp_path, "--partner", "alpha", "--host", name)
        assert done.returncode == 2 and "--host" in done.stderr, name
        assert "Traceback" not in done.stderr


def _tls_pair(folder: Path, name: str) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / f"{name}.crt", folder / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _serve(root: Path, port: int, *extra: str | Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "haven.cli.main",
            "partner",
            "serve",
            "--inbox",
            str(root),
            "--partner",
            "alpha",
            "--port",
            str(port),
            *map(str, extra),
        ],
        env={**os.environ, "HAVEN_AMQP_URL": "amqp://guest:guest@127.0.0.1:5672/%2F"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(server: subprocess.Popen[str], url: str, context: ssl.SSLContext | None) -> str:
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5, context=context) as answer:  # noqa: S310
                return str(answer.read().decode())
        except OSError:
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            assert time.monotonic() < deadline, "the inbox did not start"
            time.sleep(0.2)


def _stop(server: subprocess.Popen[str]) -> str:
    server.send_signal(signal.SIGTERM)
    _out, err = server.communicate(timeout=30)
    return err


@pytest.mark.parametrize("problem", ["junk", "mismatched", "swapped"])
def test_tls_files_that_do_not_load_as_a_pair_are_refused_before_starting(
    tmp_path: Path, problem: str
) -> None:
    root = tmp_path / "inbox"
    make_team(root, PrivateKey.generate())
    cert, key = _tls_pair(tmp_path, "one")
    _other_cert, other_key = _tls_pair(tmp_path, "other")
    if problem == "junk":
        cert.write_text("not a certificate")
    elif problem == "mismatched":
        key = other_key
    else:
        cert, key = key, cert
    done = _haven(
        "partner",
        "serve",
        "--inbox",
        root,
        "--partner",
        "alpha",
        "--port",
        str(_free_port()),
        "--tls-cert",
        cert,
        "--tls-key",
        key,
        env={"HAVEN_AMQP_URL": "amqp://guest:guest@127.0.0.1:5672/%2F"},
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("haven: error: "), done.stderr
    assert "--tls-cert" in lines[0] and "Traceback" not in done.stderr
    assert "https://" not in done.stderr and done.stdout == ""


def test_a_valid_tls_pair_serves_the_inbox_over_https(tmp_path: Path) -> None:
    root = tmp_path / "inbox"
    make_team(root, PrivateKey.generate())
    cert, key = _tls_pair(tmp_path, "inbox")
    port = _free_port()
    server = _serve(root, port, "--tls-cert", cert, "--tls-key", key)
    trust = ssl.create_default_context(cafile=str(cert))
    try:
        page = _wait_for(server, f"https://127.0.0.1:{port}/unlock", trust)
    finally:
        err = _stop(server)
    assert 'id="unlock-form"' in page
    assert f"https://127.0.0.1:{port}/" in err


def test_a_port_in_use_is_refused_in_one_line_before_the_url_is_printed(tmp_path: Path) -> None:
    root = tmp_path / "inbox"
    make_team(root, PrivateKey.generate())
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        done = _haven(
            "partner",
            "serve",
            "--inbox",
            root,
            "--partner",
            "alpha",
            "--port",
            str(port),
            env={"HAVEN_AMQP_URL": "amqp://guest:guest@127.0.0.1:5672/%2F"},
        )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [f"haven: error: port {port} is in use: give --port"]
    assert done.stdout == ""


@pytest.mark.parametrize("port", ["0", "65536", "-1", "http"])
def test_a_port_out_of_range_is_refused(tmp_path: Path, port: str) -> None:
    done = _haven("partner", "serve", "--inbox", tmp_path, "--partner", "alpha", "--port", port)
    assert done.returncode == 2 and "--port" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_failed_pull_is_one_line_in_the_log_without_the_broker_clients_traceback(
    tmp_path: Path,
) -> None:
    root = tmp_path / "inbox"
    make_team(root, PrivateKey.generate())
    port = _free_port()
    # Nothing listens there: every pull fails to connect.
    broker = f"amqp://guest:guest@127.0.0.1:{_free_port()}/%2F"
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "haven.cli.main", "partner", "serve", "--inbox", str(root)),
            *("--partner", "alpha", "--port", str(port), "--pull-every", "1"),
        ],
        env={**os.environ, "HAVEN_AMQP_URL": broker},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    browser = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with browser.open(f"{base}/unlock", timeout=5) as answer:
                    page = answer.read().decode()
                break
            except OSError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "the inbox did not start"
                time.sleep(0.2)
        token = re.search(r'name="csrf" value="([^"]+)"', page)
        assert token is not None
        form = urllib.parse.urlencode(
            {"csrf": token.group(1), "member": MEMBER, "passphrase": MEMBER_PASSPHRASE}
        ).encode()
        unlock = urllib.request.Request(  # noqa: S310 - our own test server
            f"{base}/unlock", data=form, headers={"Origin": base}
        )
        with browser.open(unlock, timeout=30) as answer:
            assert answer.status == 200
        # Two rounds of the background pull, both failing.
        time.sleep(3)
    finally:
        err = _stop(server)
    failures = [line for line in err.splitlines() if "the pull failed" in line]
    assert failures, err
    assert "Traceback" not in err and "pika" not in err, err
