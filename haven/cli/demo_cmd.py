"""`haven demo`: a demo network on this machine, driven through the real commands.

It creates a network, three demo partners with real keys and a signed
directory, seals an example request and opens it as each partner. The
example asks for replies through Haven, the form's recommended choice, so
sealing it makes a receipt code (kept in DEMO-ONLY-receipt-code). With
`--serve` it then runs the network itself: it finds a broker (the
configured one, else one it starts: haven.cli.broker_find), provisions
the topology and each partner's own broker user, starts the intake under
gunicorn (with its store, an SQLite file, where the mailboxes live) and a
router, submits the example through the intake (proof of work included),
has the partner it was routed to pull and read it with the partner toolkit
(its automatic "received" status goes to the requester's mailbox) and
reply, and has the requester read the answers with the receipt code.
Until Ctrl-C it then also runs that partner's inbox (`haven partner serve`,
docs/partner-inbox.md) on 127.0.0.1 (port 8470, or a free one if taken),
with its own broker user and none of the network's settings, pulling in
the background while unlocked; it prints the address, the member and the
demo passphrase that unlocks it. The other two demo partners keep only
their command-line inboxes. Passphrases, broker passwords and the receipt
code are generated and kept beside the keys: for a demo only, and the file
names say so.
"""

from __future__ import annotations

import argparse
import json
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import pika
from pika.exceptions import AMQPError

from haven.broker import BrokerSettings, SettingsError
from haven.broker.management import ManagementAccess
from haven.broker.provision import (
    PASSWORD_SUFFIX,
    partner_amqp_url,
    password_file,
    user_amqp_url,
)
from haven.broker.service_users import service_username
from haven.broker.topology import partner_queue
from haven.cli.broker_find import ensure_management, find_broker
from haven.cli.common import CliError, Commands, write_new
from haven.cli.keyfiles import load_public_key_file
from haven.envelope import digest
from haven.partner.migrate import plaintext_inbox

# The example request ships inside the package, so an installed Haven runs the demo too.
EXAMPLE = resources.files("haven") / "examples" / "desertion.json"
GUNICORN_CONF = "python:intake.serving.gunicorn_conf"

PARTNERS = (
    (
        "demo-lawyers",
        "Demo: legal aid and deserters' support",
        "desertion,legal_aid,political_prisoner",
    ),
    ("demo-evacuation", "Demo: evacuation and documents", "desertion,evacuation,asylum"),
    (
        "demo-objectors",
        "Demo: conscientious objectors' counselling",
        "desertion,legal_aid",
    ),
)
# The requester's receipt code: the one secret that reads the answers.
CODE_FILE = "DEMO-ONLY-receipt-code"
# What the demo partner writes back (the example request is in Russian).
EXAMPLE_REPLY = (
    "Здравствуйте. Мы получили ваш запрос. Юрист ответит вам здесь в течение двух дней; "
    "ответы и вопросы к вам будут приходить только сюда.\n"
)
REGIONS = "ru-central,ru-northwest,ru-south,ru-volga,ru-urals,ru-siberia,ru-far-east,ua-occupied,by,undisclosed"
STARTUP_SECONDS = 60
# `haven partner serve`'s own default port, when nothing else holds it.
INBOX_PORT = 8470
# Each demo partner's team inbox has this one member, whose passphrase is in
# the demo's own folder (a real team's members keep theirs in their heads).
DEMO_MEMBER = "demo"
MEMBER_UNLOCK_FILE = "DEMO-ONLY-member-passphrase"


def register(commands: Commands) -> None:
    parser = commands.add_parser(
        "demo",
        help="run a demo network on this machine",
        description="Create a demo network (network key, demo partners, signed directory) and send one "
        "example request through it. With --serve, run the intake and a router against the local "
        "RabbitMQ, and the inbox of the partner the example was routed to, until Ctrl-C.",
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path(".haven-demo"),
        help="where the demo keys live (default .haven-demo)",
    )
    parser.add_argument(
        "--serve",
        action="store_true",
        help="run the intake and a router, route the example through them, and serve its "
        "partner's inbox",
    )
    parser.add_argument(
        "--port", type=int, default=8080, help="the intake's port on 127.0.0.1 (default 8080)"
    )
    parser.add_argument(
        "--ops-port",
        type=int,
        help="the intake's operators' port (/healthz, /readyz, /metrics) on 127.0.0.1 "
        "(default: --port + 1)",
    )
    parser.add_argument(
        "--inbox-port",
        type=int,
        help=f"with --serve: the demo partner's inbox on 127.0.0.1 (default {INBOX_PORT}, "
        "or a free port if that one is taken)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="with --serve: stop once the example is routed (for tests)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    # Imported here: main registers this module, and the demo drives the very
    # parser a person uses.
    from haven.cli.main import main  # noqa: PLC0415

    base: Path = args.dir
    environ: Mapping[str, str] = args.environ
    step = _steps(main, environ)
    pw = ["--passphrase-file", str(base / "DEMO-ONLY-passphrase")]
    if not (base / "directory.json").exists():
        _create_network(step, base, pw)
    _add_missing_partners(step, base, pw)
    _ensure_team_inboxes(step, base, pw)
    print("\nThe directory, verified against the pinned network key:")
    step(["directory", "verify", "--directory", str(base / "directory.json"), "--network-key", str(base / "network.pub"),
                 "--state", str(base / "seen-directory.json")])  # fmt: skip
    envelope = base / "example-request.env"
    request = _example_request(base)
    code_file = base / CODE_FILE
    # Each run seals a new request, and so makes a new code: a code never
    # replaces a file (haven seal refuses), so the last run's goes first.
    # It only read the last run's answers, in this demo's own store.
    code_file.unlink(missing_ok=True)
    print(
        f"\nA requester seals {EXAMPLE.name}, answered through Haven ({request}), to every "
        "partner serving its category; sealing makes the receipt code that reads the answers:"
    )
    step(["seal", str(request), "--out", str(envelope), "--force", "--region", "ru-volga", "--language", "ru",
             "--urgency", "urgent", "--directory", str(base / "directory.json"), "--network-key", str(base / "network.pub"),
             "--code-file", str(code_file)])  # fmt: skip
    for partner_id, _, _ in PARTNERS:
        print(f"\n{partner_id} can open it on its own machine:")
        step(["open", str(envelope), "--key", str(base / f"{partner_id}.key"), *pw])
    if args.serve:
        ops_port = args.port + 1 if args.ops_port is None else args.ops_port
        return _serve(
            main,
            environ,
            base,
            envelope,
            (args.port, ops_port, args.inbox_port),
            check=args.check,
        )
    print(
        "\n`haven demo --serve` (or `make run`) runs the intake and a router and routes it "
        "through them; the partner then replies through Haven, and the requester reads the "
        f"reply with the receipt code in {code_file}."
    )
    return 0


def _example_request(base: Path) -> Path:
    """The example request answered through Haven, as the form recommends: no messenger handle.

    The shipped example names a messenger; the demo shows the way back that
    leaves no handle with anyone, so it asks for replies through Haven.
    """
    document = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    fields = document["fields"]
    fields.pop("contact_handle", None)
    fields["contact_channel"] = "haven_reply"
    path = base / "example-request.json"
    text = json.dumps(document, ensure_ascii=False, indent=1) + "\n"
    write_new(path, text.encode("utf-8"), force=True)
    return path


def _create_network(step: Step, base: Path, pw: list[str]) -> None:
    print(f"Creating a demo network in {base}/")
    write_new(
        base / "DEMO-ONLY-passphrase",
        secrets.token_urlsafe(24).encode() + b"\n",
        force=True,
        private=True,
    )
    write_new(base / "DEMO-ONLY-pow.secret", secrets.token_bytes(32), force=True, private=True)
    # Seals the router's routing state (worker.seal); partners never get it.
    write_new(base / "DEMO-ONLY-router.key", secrets.token_bytes(32), force=True, private=True)
    step(["network", "create", "--network-id", "haven-demo", "--key", str(base / "network.key"),
                 "--verify-key", str(base / "network.pub"), "--directory", str(base / "directory.json"), *pw])  # fmt: skip


def _add_missing_partners(step: Step, base: Path, pw: list[str]) -> None:
    for partner_id, name, categories in PARTNERS:
        public = base / f"{partner_id}.pub"
        if public.exists():
            if load_public_key_file(public).signing_key is not None:
                continue
            # A demo network made before replies: its partners are listed
            # again with the signing keys their replies are checked against.
            print(f"Listing the signing key of demo partner {partner_id}")
            step(
                [
                    "public-key",
                    "--key",
                    str(base / f"{partner_id}.key"),
                    "--public",
                    str(public),
                    "--force",
                    *pw,
                ]
            )
        else:
            print(f"Adding demo partner {partner_id}")
            step(["keygen", "--key", str(base / f"{partner_id}.key"), "--public", str(public), *pw])
        step(["directory", "add-partner", "--directory", str(base / "directory.json"),
                     "--key", str(base / "network.key"), *pw, "--id", partner_id, "--name", name,
                     "--categories", categories, "--regions", REGIONS, "--languages", "ru,uk,en",
                     "--capacity", "50", "--public-key", str(base / f"{partner_id}.pub")])  # fmt: skip


Step = Callable[[list[str]], None]


def _steps(
    main: Callable[[Sequence[str], Mapping[str, str]], int], environ: Mapping[str, str]
) -> Step:
    """Run `haven ARGV` in this process with these settings; a failed step ends the demo."""

    def step(argv: list[str]) -> None:
        if main(argv, environ) != 0:
            raise CliError(f"demo step failed: haven {argv[0]}")

    return step


def _checkout() -> Path | None:
    """The source checkout this package runs from, if any: its scripts can start a local broker."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "scripts" / "ensure-rabbitmq").is_file() else None


def _serve(
    main: Callable[[Sequence[str], Mapping[str, str]], int],
    environ: Mapping[str, str],
    base: Path,
    envelope: Path,
    ports: tuple[int, int, int | None],
    *,
    check: bool,
) -> int:
    port, ops_port, inbox_port = ports
    checkout = _checkout()
    try:
        configured = BrokerSettings.from_env(environ)
        # The demo runs one local broker: the first URL names it.
        broker = find_broker(configured.urls[0], checkout)
        # The broker found (perhaps one started here) is the one every
        # step and service below uses: in-process commands get it through
        # their settings, never through a rewritten os.environ.
        environ = {
            **environ,
            "HAVEN_AMQP_URL": broker.url,
            "HAVEN_DIRECTORY_FILE": str(base / "directory.json"),
            "HAVEN_NETWORK_VERIFY_KEY_FILE": str(base / "network.pub"),
            "HAVEN_DIRECTORY_STATE": str(base / "seen-directory-router.json"),
            "HAVEN_POW_SECRET_FILE": str(base / "DEMO-ONLY-pow.secret"),
            # The demo's store: an embedded SQLite file in its own folder, so
            # `make run` needs no database server (the compose stack: PostgreSQL).
            "HAVEN_STORE_URL": f"sqlite:///{(base / 'store.sqlite3').resolve()}",
            "HAVEN_ROUTER_KEY_FILE": str(base / "DEMO-ONLY-router.key"),
            "HAVEN_BIND": f"127.0.0.1:{port}",
            # /healthz, /readyz and /metrics: beside the public port, never on it.
            "HAVEN_OPS_BIND": f"127.0.0.1:{ops_port}",
            # The code the pages serve, signed at every start (`haven check-site`).
            "HAVEN_SITE_MANIFEST_FILE": str(base / "site-manifest.json"),
        }
        management = ManagementAccess.from_env(environ, broker.url).url
    except SettingsError as exc:
        raise CliError(str(exc)) from None
    print(f"\n{broker.line}")
    step = _steps(main, environ)
    ensure_management(management, broker.url, checkout)
    users = base / "DEMO-ONLY-broker-users"
    services = base / "DEMO-ONLY-service-users"
    print(
        "\nThe broker's queues, each partner's own broker user, and Haven's own users "
        "(intake, router, deliverer), each with its own rights only:"
    )
    step(["provision", "--directory", str(base / "directory.json"), "--network-key", str(base / "network.pub"),
          "--credentials-dir", str(users), "--management-url", management,
          "--service-credentials-dir", str(services)])  # fmt: skip
    for partner_id, _, _ in PARTNERS:
        password = password_file(users, partner_id).read_text().strip()
        write_new(
            base / f"DEMO-ONLY-{partner_id}.broker-url",
            (partner_amqp_url(broker.url, partner_id, password) + "\n").encode(),
            force=True,
            private=True,
        )
    _sign_site(step, base)
    url = f"http://127.0.0.1:{port}"
    ops_url = f"http://127.0.0.1:{ops_port}"
    print(f"\nStarting the intake on {url} (operators' endpoints on {ops_url}) and a router")
    # Fixed argv (this interpreter, our own modules), no shell.
    serve_intake = [sys.executable, "-m", "gunicorn", "-c", GUNICORN_CONF]
    # Each service connects as its own user, as in the compose stack: the
    # intake may only publish to the intake exchange, never purge a queue.
    # SIGTERM (a process manager, `kill`, a job stopped in the background)
    # must stop the intake and the router as Ctrl-C does: otherwise the demo
    # dies alone and leaves both serving, with their broker users, unseen.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    intake = subprocess.Popen(serve_intake, env=_as_service(environ, services, "intake"))  # noqa: S603
    router = subprocess.Popen(
        [sys.executable, "-m", "worker.main"], env=_as_service(environ, services, "router")
    )
    running = [intake, router]
    try:
        _wait_answers(
            f"{ops_url}/readyz",
            f"the intake was not ready within {STARTUP_SECONDS} s; "
            "is RabbitMQ running (scripts/ensure-rabbitmq)?",
            intake,
            router,
        )
        _check_site(step, base, url)
        before = _partner_depths(broker.url)
        print(f"\nA requester submits the sealed example: haven submit {envelope} --url {url}")
        step(["submit", str(envelope), "--url", url])
        partner = _wait_routed(broker.url, before, router)
        print(
            f"The router gave it to {partner}: it waits in {partner_queue(partner)} for that partner alone."
        )
        # The request id is the envelope's digest: the entry the partner answers.
        request_id = digest(envelope.read_bytes())
        _partner_reads(step, base, partner, request_id, url)
        _partner_replies(step, base, partner, request_id, url)
        _requester_reads(step, base, url)
        print(_instructions(base, partner, url))
        if check:
            return 0
        inbox_url = _start_inbox(environ, base, (partner, url), inbox_port, running)
        # Flushed: whoever reads this through a pipe gets the addresses now, not at exit.
        print(
            f"\nHaven is running: intake {url}/v1/directory; operators {ops_url}/readyz, "
            f"{ops_url}/metrics; the inbox of {partner} {inbox_url}/. Ctrl-C stops it.",
            flush=True,
        )
        while all(process.poll() is None for process in running):
            time.sleep(0.5)
        raise CliError("a demo service stopped unexpectedly")
    except KeyboardInterrupt:
        return 0
    finally:
        _stop_services(running, previous)


def _stop_services(processes: Sequence[subprocess.Popen[bytes]], previous: Any) -> None:
    # A second SIGTERM while the services stop must not cut this short.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    signal.signal(signal.SIGTERM, previous)


def _interrupt(_signum: int, _frame: object) -> None:
    """SIGTERM stops the demo the way Ctrl-C does, through the same clean-up."""
    raise KeyboardInterrupt


def _sign_site(step: Step, base: Path) -> None:
    """Sign the code this installed intake serves, at every start: the code may have changed since."""
    print(
        "\nThe network signs the code this installed intake's pages serve (docs/site-integrity.md):"
    )
    step(["network", "sign-site", "--key", str(base / "network.key"), "--directory", str(base / "directory.json"),
          "--out", str(base / "site-manifest.json"), "--passphrase-file", str(base / "DEMO-ONLY-passphrase")])  # fmt: skip


def _check_site(step: Step, base: Path, url: str) -> None:
    watch = ["check-site", url, "--network-key", str(base / "network.pub"),
             "--state", str(base / "seen-site.json")]  # fmt: skip
    print(f"\nA partner or watcher checks the code the intake serves: haven {' '.join(watch)}")
    step(watch)


def _as_service(environ: Mapping[str, str], services: Path, role: str) -> dict[str, str]:
    """The environment with the broker URL of this service's own user (made by `haven provision`)."""
    password = (services / f"{role}{PASSWORD_SUFFIX}").read_text(encoding="ascii").strip()
    url = user_amqp_url(environ["HAVEN_AMQP_URL"], service_username(role), password)
    return {**environ, "HAVEN_AMQP_URL": url}


def _member_args(base: Path, partner: str) -> list[str]:
    return ["--inbox", str(base / f"inbox-{partner}"), "--member", DEMO_MEMBER,
            "--passphrase-file", str(base / MEMBER_UNLOCK_FILE)]  # fmt: skip


def _partner_key_args(base: Path, partner: str) -> list[str]:
    return ["--partner", partner, *_member_args(base, partner)]


def _ensure_team_inboxes(step: Step, base: Path, pw: list[str]) -> None:
    """Each demo partner's team inbox, with the demo member: the key wrapped under their passphrase."""
    member_passphrase = base / MEMBER_UNLOCK_FILE
    if not member_passphrase.exists():
        write_new(
            member_passphrase, secrets.token_urlsafe(24).encode() + b"\n", force=True, private=True
        )
    for partner_id, _, _ in PARTNERS:
        inbox = base / f"inbox-{partner_id}"
        if (inbox / "inbox.sqlite").exists() and not plaintext_inbox(inbox):
            continue
        print(f"\nThe team inbox of {partner_id}, sealed at rest, with member {DEMO_MEMBER}:")
        step(["partner", "team", "init", "--inbox", str(inbox), "--key", str(base / f"{partner_id}.key"),
              *pw, "--member", DEMO_MEMBER, "--new-passphrase-file", str(member_passphrase)])  # fmt: skip


def _pull_argv(base: Path, partner: str, url: str) -> list[str]:
    # --intake-url: where the automatic "received" status (and any status
    # left unsent by an earlier pull) is posted.
    return ["partner", "pull", *_partner_key_args(base, partner),
            "--broker-url-file", str(base / f"DEMO-ONLY-{partner}.broker-url"), "--intake-url", url]  # fmt: skip


def _partner_reads(step: Step, base: Path, partner: str, request_id: str, url: str) -> None:
    """The partner pulls with its own broker user and key, and reads the request locally."""
    inbox = base / f"inbox-{partner}"
    pull = _pull_argv(base, partner, url)
    print(f"\n{partner} pulls its requests on its own machine: haven {' '.join(pull)}")
    step(pull)
    member = _member_args(base, partner)
    print(f"\n{partner} lists and reads its team inbox: haven partner list {' '.join(member)}")
    step(["partner", "list", *member])
    print(f"\nhaven partner show {request_id} --inbox {inbox} --member {DEMO_MEMBER} ...")
    step(["partner", "show", request_id, *member])


def _partner_replies(step: Step, base: Path, partner: str, request_id: str, url: str) -> None:
    """The partner answers through Haven: sealed to the requester's reply key, signed, posted."""
    text = base / "example-reply.txt"
    write_new(text, EXAMPLE_REPLY.encode("utf-8"), force=True)
    reply = ["partner", "reply", request_id, "--text-file", str(text),
             *_partner_key_args(base, partner), "--intake-url", url]  # fmt: skip
    print(
        f"\n{partner} replies through Haven, sealed to the requester's reply key and signed: "
        f"haven {' '.join(reply)}"
    )
    step(reply)


def _start_inbox(
    environ: Mapping[str, str],
    base: Path,
    routed: tuple[str, str],
    requested_port: int | None,
    running: list[subprocess.Popen[bytes]],
) -> str:
    """Start the partner's inbox beside the running services; its URL once it answers."""
    partner, url = routed
    inbox_url = f"http://127.0.0.1:{_inbox_port(requested_port)}"
    print(
        f"\nStarting the team inbox of {partner} on {inbox_url}/ (haven partner serve)",
        flush=True,
    )
    # The partner's own process gets none of the network's settings (the
    # broker's administrator URL among them): only its own files, as on its machine.
    partner_environ = {
        name: value for name, value in environ.items() if not name.startswith("HAVEN_")
    }
    running.append(
        subprocess.Popen(  # noqa: S603 - fixed argv (this interpreter, our own command), no shell
            _inbox_argv(base, partner, url, inbox_url), env=partner_environ
        )
    )
    # Printed once its unlock page answers: the address printed is one that works.
    _wait_answers(
        f"{inbox_url}/unlock",
        f"the demo partner's inbox did not answer within {STARTUP_SECONDS} s",
        *running,
    )
    print(_inbox_lines(base, partner, inbox_url))
    return inbox_url


def _inbox_port(requested: int | None) -> int:
    """The inbox's port: the one asked for, else 8470 if free, else any free one on 127.0.0.1."""
    if requested is not None:
        return requested
    for candidate in (INBOX_PORT, 0):
        with socket.socket() as probe:
            # As gunicorn binds: a port left in TIME_WAIT by a last run is free.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            return int(probe.getsockname()[1])
    raise CliError("no free port on 127.0.0.1 for the demo partner's inbox")


def _inbox_argv(base: Path, partner: str, url: str, inbox_url: str) -> list[str]:
    """`haven partner serve` for the demo partner: its team inbox, its own broker user, the intake."""
    port = inbox_url.rsplit(":", 1)[1]
    return [sys.executable, "-m", "haven.cli.main", "partner", "serve",
            "--inbox", str(base / f"inbox-{partner}"), "--partner", partner,
            "--broker-url-file", str(base / f"DEMO-ONLY-{partner}.broker-url"),
            "--intake-url", url, "--bind", "127.0.0.1", "--port", port]  # fmt: skip


def _inbox_lines(base: Path, partner: str, inbox_url: str) -> str:
    """Where the team inbox is and what unlocks it: the demo's own passphrase, printed for a demo only."""
    passphrase = (base / MEMBER_UNLOCK_FILE).read_text(encoding="utf-8").strip()
    return "\n".join(
        (
            "",
            f"The team inbox of {partner}, in a browser: {inbox_url}/",
            f"  member: {DEMO_MEMBER}",
            f"  passphrase: {passphrase}",
            f"  (DEMO ONLY: printed here and kept in {base / MEMBER_UNLOCK_FILE} for this demo;",
            "  a real member's passphrase is never printed nor written down beside the inbox.)",
            "  While unlocked it pulls new requests in the background; left idle, it locks itself.",
        )
    )


def _status_argv(base: Path, url: str) -> list[str]:
    return ["status", "--code-file", str(base / CODE_FILE), "--url", url,
            "--network-key", str(base / "network.pub")]  # fmt: skip


def _requester_reads(step: Step, base: Path, url: str) -> None:
    """The requester reads the thread with the receipt code alone, each message verified."""
    status = _status_argv(base, url)
    print(f"\nThe requester reads the answers with the receipt code: haven {' '.join(status)}")
    step(status)


def _instructions(base: Path, partner: str, url: str) -> str:
    """How to go on by hand, from another terminal, against this demo's intake."""
    code = base / CODE_FILE
    network_key = base / "network.pub"
    pull = " ".join(_pull_argv(base, partner, url))
    answer = " ".join(_partner_key_args(base, partner))
    return "\n".join(
        (
            "",
            "The two-way channel, by hand from another terminal (. .venv/bin/activate):",
            f"  Read the answers in a browser: open {url}/, choose a language, press "
            f'"Read answers" and type the code phrase from {code}.',
            f"  Or on the command line: haven {' '.join(_status_argv(base, url))}",
            f"  Follow up: haven follow-up --code-file {code} --text-file FILE --url {url} "
            f"--network-key {network_key}",
            f"  {partner} takes follow-ups and new requests: haven {pull}",
            f"  {partner} replies: haven partner reply ID --text-file FILE {answer} --intake-url {url}",
            f"  {partner} tells where a request stands: haven partner status ID "
            f"in-progress|need-info|closed [--text NOTE] {answer} --intake-url {url}",
            f"  (Instead of --intake-url, a partner may set HAVEN_INTAKE_URL={url}.)",
        )
    )


def _wait_answers(probe: str, late: str, *processes: subprocess.Popen[bytes]) -> None:
    """Until `probe` answers 200 on our own 127.0.0.1; a service that stops, or `late`, ends the demo."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if any(process.poll() is not None for process in processes):
            raise CliError("a demo service stopped during start-up (its reason is printed above)")
        try:
            with urllib.request.urlopen(probe, timeout=5) as response:  # noqa: S310 - our own local services  # nosec B310
                if response.status == 200:
                    return
        except (urllib.error.URLError, TimeoutError, ConnectionError):
            pass
        time.sleep(0.5)
    raise CliError(late)


def _partner_depths(broker_url: str) -> dict[str, int]:
    depths: dict[str, int] = {}
    try:
        connection = pika.BlockingConnection(pika.URLParameters(broker_url))
    except AMQPError:
        return {}
    try:
        for partner_id, _, _ in PARTNERS:
            channel = connection.channel()
            try:
                depths[partner_id] = channel.queue_declare(
                    partner_queue(partner_id), passive=True
                ).method.message_count
                channel.close()
            except AMQPError:
                depths[partner_id] = 0
    finally:
        if connection.is_open:
            connection.close()
    return depths


def _wait_routed(broker_url: str, before: dict[str, int], router: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if router.poll() is not None:
            raise CliError("the router stopped (its reason is printed above)")
        for partner_id, depth in _partner_depths(broker_url).items():
            if depth > before.get(partner_id, 0):
                return partner_id
        time.sleep(0.5)
    raise CliError(f"the example request was not routed within {STARTUP_SECONDS} s")
