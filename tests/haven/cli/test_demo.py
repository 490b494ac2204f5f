"""`make run` end to end: the demo network routes its example request through intake and router."""

from __future__ import annotations

import contextlib
import html
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from http.cookiejar import CookieJar
from pathlib import Path

import pika
import pytest

from haven.broker.management import ManagementClient
from haven.broker.service_users import service_permissions
from haven.cli.demo_cmd import INBOX_PORT
from haven.envelope import digest
from tests.conftest import management_env, rabbitmqctl_argv
from tests.repo import REPO
from tests.team_inbox import open_inbox

pytestmark = pytest.mark.broker


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


DEMO_PARTNERS = ("demo-evacuation", "demo-lawyers", "demo-objectors")


@pytest.fixture
def demo_users() -> Iterator[None]:
    """Broker users are broker-wide: remove the demo's partner and service users this test provisioned."""
    yield
    users = [f"haven-partner-{name}" for name in DEMO_PARTNERS]
    for name in (*users, "haven-intake", "haven-router", "haven-deliver"):
        done = subprocess.run(
            rabbitmqctl_argv("delete_user", name),
            capture_output=True,
            check=False,
            timeout=60,
        )
        assert done.returncode in (0, 69, 70), done.stderr  # 69/70: no such user


def run_demo(demo: Path, broker_url: str, **environ: str) -> subprocess.CompletedProcess[str]:
    """`haven demo --serve --check`, as `make run` starts it, until the example is read."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "haven.cli.main",
            "demo",
            "--dir",
            str(demo),
            "--serve",
            "--check",
            "--port",
            str(free_port()),
            "--ops-port",
            str(free_port()),
        ],
        cwd=demo.parent,
        env={**os.environ, "HAVEN_AMQP_URL": broker_url, **management_env(), **environ},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def member_passphrase(demo: Path) -> str:
    return (demo / "DEMO-ONLY-member-passphrase").read_text().rstrip("\n")


def test_demo_network_routes_the_example_to_one_partner_who_reads_it(
    fresh_broker_url: str, management_url: str, tmp_path: Path, demo_users: None
) -> None:
    demo = tmp_path / "demo"
    done = run_demo(demo, fresh_broker_url)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "Broker: the configured one at amqp://guest@" in done.stdout
    assert "The router gave it to demo-" in done.stdout
    # The demo signs the code its intake serves, and checks the running site against it.
    assert "site manifest haven-demo version 1: 22 pages, 6 files" in done.stdout
    assert "serves the signed code: 22 pages and 6 files match" in done.stdout
    assert "1 new, 0 duplicate, 0 declined" in done.stdout
    chosen = done.stdout.split("The router gave it to ")[1].split(":")[0]
    # The partner read it with its own broker user and the demo member's
    # passphrase: in its team inbox, sealed at rest, opened in memory.
    inbox = open_inbox(demo / f"inbox-{chosen}", "demo", member_passphrase(demo))
    [request] = inbox.entries()
    assert "Мобилизовали" in request.content["fields"]["message"]
    assert sorted(p.name for p in inbox.root.iterdir()) == ["inbox.sqlite"]
    assert "Мобилизовали".encode() not in (inbox.root / "inbox.sqlite").read_bytes()
    assert "Мобилизовали" in done.stdout  # `haven partner show`
    assert "status: new  unassigned" in done.stdout  # `haven partner list`
    # The way back works out of the box: the intake's store keeps the
    # mailbox; the partner's automatic "received" status and its reply reach
    # it, and the requester reads both with the receipt code alone.
    assert "received status sent: 1" in done.stdout
    assert f"reply sent to the requester of {request.request_id}" in done.stdout
    thread = done.stdout.split("The requester reads the answers with the receipt code")[1]
    assert "Здравствуйте. Мы получили ваш запрос." in thread
    assert "current status: received" in thread
    assert "could not be verified" not in thread
    assert (demo / "store.sqlite3").exists()
    # What it prints for going on by hand reaches this demo's intake.
    port = done.stdout.split("Starting the intake on http://127.0.0.1:")[1].split(" ")[0]
    url = f"http://127.0.0.1:{port}"
    assert f"--intake-url {url}" in done.stdout.split("The two-way channel, by hand")[1]
    assert f"haven partner reply ID --text-file FILE --partner {chosen}" in done.stdout
    assert f"haven status --code-file {demo}/DEMO-ONLY-receipt-code --url {url}" in done.stdout
    assert f'open {url}/, choose a language, press "Read answers"' in done.stdout
    connection = pika.BlockingConnection(pika.URLParameters(fresh_broker_url))
    try:
        depths = {
            name: connection.channel()
            .queue_declare(f"haven.partner.{name}", passive=True)
            .method.message_count
            for name in DEMO_PARTNERS
        }
    finally:
        connection.close()
    assert depths == dict.fromkeys(DEMO_PARTNERS, 0)  # taken and acked
    # The intake and the router ran as Haven's own users, with their own rights only.
    admin = ManagementClient(management_url, "guest", "guest")
    vhost = pika.URLParameters(fresh_broker_url).virtual_host
    for role in ("intake", "router", "deliver"):
        assert f"service  haven-{role}  (its own rights only)" in done.stdout
        granted = admin.get_permissions(vhost, f"haven-{role}")
        assert granted is not None
        assert (granted.configure, granted.write, granted.read) == service_permissions(role, [])
    broker_url = (demo / f"DEMO-ONLY-{chosen}.broker-url").read_text()
    assert broker_url.startswith(f"amqp://haven-partner-{chosen}:")
    assert (demo / f"DEMO-ONLY-{chosen}.broker-url").stat().st_mode & 0o077 == 0
    # The demo's own secrets are private files.
    assert (demo / "DEMO-ONLY-passphrase").stat().st_mode & 0o077 == 0
    assert (demo / "DEMO-ONLY-member-passphrase").stat().st_mode & 0o077 == 0
    assert (demo / "DEMO-ONLY-pow.secret").stat().st_mode & 0o077 == 0


def test_the_demo_runs_from_an_installed_package_away_from_any_checkout(
    fresh_broker_url: str, tmp_path: Path, demo_users: None
) -> None:
    """An installed Haven carries what the demo reads: the example request and gunicorn's settings."""
    # Built from a copy of the tracked sources, offline: no stale build/
    # folder of the checkout, no package index needed at test time.
    source = tmp_path / "source"
    for package in ("haven", "intake", "worker", "schemas"):
        shutil.copytree(
            REPO / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    site = tmp_path / "site"
    installed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--no-build-isolation",
            "--target",
            str(site),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert installed.returncode == 0, installed.stderr[-2000:]
    away = tmp_path / "elsewhere"
    away.mkdir()
    # PYTHONPATH comes before the checkout's editable install: every process
    # the demo starts (gunicorn, the router) imports the installed copy.
    done = run_demo(away / "demo", fresh_broker_url, PYTHONPATH=str(site))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "1 new, 0 duplicate, 0 declined" in done.stdout
    # Signed from the installed copy's own templates and files, and served as signed.
    assert "serves the signed code: 22 pages and 6 files match" in done.stdout
    where = subprocess.run(
        [
            sys.executable,
            "-c",
            "import haven, intake, worker, schemas; print(haven.__file__, intake.__file__, worker.__file__, schemas.__file__)",
        ],
        env={**os.environ, "PYTHONPATH": str(site)},
        cwd=away,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert all(path.startswith(str(site)) for path in where.stdout.split()), where.stdout


def _answers(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _printed(seen: list[str], label: str) -> str:
    """The value the demo printed after `label` on a line of its own."""
    [value] = [line.split(label, 1)[1].strip() for line in seen if line.startswith(label)]
    return value


def _unlocked_inbox_page(inbox_url: str, member: str, passphrase: str) -> str:
    """A member unlocks the inbox over HTTP, as the browser's form does, and gets the inbox page."""
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    with browser.open(f"{inbox_url}/unlock", timeout=30) as page:
        form = page.read().decode()
    [token] = re.findall(r'name="csrf" value="([^"]+)"', form)
    fields = {"csrf": html.unescape(token), "member": member, "passphrase": passphrase}
    body = urllib.parse.urlencode(fields).encode()
    # The answer is a redirect to the inbox, followed with the session cookie it set.
    with browser.open(f"{inbox_url}/unlock", data=body, timeout=60) as inbox:
        assert urllib.parse.urlsplit(inbox.url).path == "/", inbox.url
        return str(inbox.read().decode())


def _held(port: int) -> socket.socket | None:
    """Hold this port on 127.0.0.1 if nothing else does; None when it is taken already."""
    holder = socket.socket()
    try:
        holder.bind(("127.0.0.1", port))
        holder.listen()
    except OSError:
        holder.close()
        return None
    return holder


def test_sigterm_stops_the_demo_and_the_services_it_started(
    fresh_broker_url: str, management_url: str, tmp_path: Path, demo_users: None
) -> None:
    """The demo partner's inbox serves the routed request to the printed member and passphrase.

    `kill` (or a process manager) stops the intake, the router and that inbox
    too, as Ctrl-C does. Its usual port is held here, as another program
    might: the demo takes a free one and prints that.
    """
    demo = tmp_path / "demo"
    port, ops_port = free_port(), free_port()
    argv = [sys.executable, "-m", "haven.cli.main", "demo", "--dir", str(demo), "--serve"]
    holder = _held(INBOX_PORT)
    serving = subprocess.Popen(
        [*argv, "--port", str(port), "--ops-port", str(ops_port)],
        cwd=tmp_path,
        env={**os.environ, "HAVEN_AMQP_URL": fresh_broker_url, **management_env()},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # Its own process group: whatever it started is ended below, even if it is not.
        start_new_session=True,
    )
    try:
        assert serving.stdout is not None
        seen = []
        for line in serving.stdout:
            seen.append(line)
            if line.startswith("Haven is running"):
                break
        else:
            pytest.fail("the demo stopped before serving: " + "".join(seen)[-2000:])
        if holder is not None:
            holder.close()
        assert _answers(port) and _answers(ops_port)
        chosen = "".join(seen).split("The router gave it to ")[1].split(":")[0]
        inbox_url = _printed(seen, f"The team inbox of {chosen}, in a browser:").rstrip("/")
        inbox_port = urllib.parse.urlsplit(inbox_url).port
        assert urllib.parse.urlsplit(inbox_url).hostname == "127.0.0.1"
        assert inbox_port is not None and inbox_port != INBOX_PORT
        member = _printed(seen, "  member:")
        passphrase = _printed(seen, "  passphrase:")
        assert passphrase == member_passphrase(demo)
        assert any(line.startswith("  (DEMO ONLY") for line in seen)
        page = _unlocked_inbox_page(inbox_url, member, passphrase)
        request_id = digest((demo / "example-request.env").read_bytes())
        assert f'data-id="{request_id}"' in page
        assert f"{inbox_url}/" in "".join(seen).split("Haven is running")[1]
        serving.send_signal(signal.SIGTERM)
        rest, _ = serving.communicate(timeout=60)
        assert serving.returncode == 0, rest[-2000:]
        # No service listens any more, the inbox included: stopped, not orphaned.
        deadline = time.monotonic() + 10
        ports = (port, ops_port, inbox_port)
        while any(map(_answers, ports)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(map(_answers, ports))
    finally:
        if holder is not None:
            holder.close()
        if serving.poll() is None:
            serving.send_signal(signal.SIGTERM)
            try:
                serving.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                serving.kill()
                serving.communicate()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(serving.pid, signal.SIGKILL)
        if serving.stdout is not None:
            serving.stdout.close()
