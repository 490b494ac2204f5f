"""`haven partner serve`: the partners' inbox as a web app on the organisation's own machine.

One gunicorn process with threads (the unlocked key lives in that
process's memory only), no access log (it would hold members' addresses
and the case ids they opened), bound to 127.0.0.1 unless TLS settings are
given: a passphrase or a request must never cross a network in clear.
"""

from __future__ import annotations

import argparse
import errno
import ipaddress
import logging
import re
import shlex
import socket
import ssl
import sys
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]

from haven.cli.common import CliError, Commands
from haven.cli.partner_cmd import _mailbox_settings, _settings
from haven.partner import team
from haven.partner.web import ServeSettings, create_app
from haven.partner.web.settings import (
    DEFAULT_IDLE_LOCK,
    DEFAULT_PULL_EVERY,
    LANGUAGES,
    MIN_IDLE_LOCK,
)

DEFAULT_PORT = 8470
# Threads of the one worker: a team's members at once, and the pages' /state polls.
THREADS = 8
# A reply or a decline waits on the intake or the broker (30 s at most each).
REQUEST_TIMEOUT = 120
EXIT_USAGE = 2
MAX_SECONDS = 86400
MAX_PORT = 65535
HOST_NAME = re.compile(r"[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]")


def _seconds(text: str, least: float = 0.0) -> float:
    """A number of seconds above 0 (or at least `least`), at most a day."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("not a number of seconds") from None
    if value <= 0 or not least <= value <= MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"must be between {least:g} and {MAX_SECONDS} seconds")
    return value


def _host_name(text: str) -> str:
    if HOST_NAME.fullmatch(text) is None:
        raise argparse.ArgumentTypeError(
            "a host name or address without a port, e.g. inbox.example.org or [2001:db8::1]"
        )
    return text.lower()


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_PORT:
        raise argparse.ArgumentTypeError(f"a port number from 1 to {MAX_PORT}")
    return value


def _idle_seconds(text: str) -> float:
    return _seconds(text, MIN_IDLE_LOCK)


def register(actions: Commands) -> None:
    serve = actions.add_parser(
        "serve",
        help="the team's web inbox on this machine: cases, notes, replies, declines",
        description="Serve the partners' inbox to the team's browsers (docs/partner-inbox.md). "
        "It pulls in the background while a member has it unlocked, and locks when idle.",
    )
    serve.add_argument("--inbox", type=Path, required=True, metavar="DIR", help="the inbox folder")
    serve.add_argument("--partner", required=True, metavar="ID", help="your partner id")
    serve.add_argument(
        "--broker-url-file",
        type=Path,
        metavar="FILE",
        help="file holding your broker URL, or one per line for each node of a cluster; "
        "default: the HAVEN_AMQP_URL variable",
    )
    serve.add_argument(
        "--intake-url",
        metavar="URL",
        help="the intake's base URL for replies; default: the HAVEN_INTAKE_URL variable",
    )
    serve.add_argument("--bind", default="127.0.0.1", metavar="ADDRESS")
    serve.add_argument("--port", type=_port, default=DEFAULT_PORT)
    serve.add_argument(
        "--host",
        action="append",
        default=[],
        type=_host_name,
        metavar="NAME",
        help="another name members' browsers use for it (the organisation's TLS proxy); "
        "repeatable. Besides these it answers only to its --bind address and localhost",
    )
    serve.add_argument("--tls-cert", type=Path, metavar="FILE", help="TLS certificate (PEM)")
    serve.add_argument("--tls-key", type=Path, metavar="FILE", help="TLS private key (PEM)")
    serve.add_argument(
        "--idle-lock",
        type=_idle_seconds,
        default=DEFAULT_IDLE_LOCK,
        metavar="SECONDS",
        help=f"lock a session after this long without a request (default {DEFAULT_IDLE_LOCK:g})",
    )
    serve.add_argument(
        "--pull-every",
        type=_seconds,
        default=DEFAULT_PULL_EVERY,
        metavar="SECONDS",
        help=f"pull this often while unlocked (default {DEFAULT_PULL_EVERY:g})",
    )
    serve.add_argument(
        "--alert-command",
        metavar="CMD",
        help="run CMD (no shell) with a line like '3 new, 1 overdue' on its input when the "
        "counts change; it never gets content, category or region",
    )
    serve.add_argument(
        "--language", choices=LANGUAGES, help="the pages' language (default: the browser's)"
    )
    serve.set_defaults(handler=run_serve)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def tls_refusal(args: argparse.Namespace) -> str | None:
    """Why this bind needs TLS settings it lacks, in one line; None when it may start."""
    if (args.tls_cert is None) != (args.tls_key is None):
        return "give both --tls-cert and --tls-key, or neither"
    if args.tls_cert is None and not is_loopback(args.bind):
        return (
            f"refusing to serve on {args.bind} without TLS: members' passphrases and requests "
            "would cross the network in clear; give --tls-cert and --tls-key, or bind 127.0.0.1"
        )
    return None


def tls_file_refusal(cert: Path | None, key: Path | None) -> str | None:
    """Why the certificate and key do not load as a pair, in one line; None when they do.

    gunicorn loads them only per connection: a junk or mismatched pair
    would start, print its URL, and then fail every member's browser.
    """
    if cert is None or key is None:
        return None
    for path in (cert, key):
        if not path.is_file():
            return f"cannot read the TLS file {path}"
    try:
        # No password: an encrypted key would make OpenSSL prompt on the
        # terminal here and again in the worker; it is refused instead.
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert, key, password=b"")
    except (ssl.SSLError, OSError):
        return (
            f"--tls-cert {cert} and --tls-key {key} are not a PEM certificate and its "
            "unencrypted private key"
        )
    return None


def bind_refusal(bind: str, port: int) -> str | None:
    """Why the address cannot be bound, in one line; None when it can.

    gunicorn retries a taken port five times, logging each, then exits 1:
    a member would read ten lines and no advice. The probe socket is
    closed before gunicorn binds (both set SO_REUSEADDR, so the closed
    probe does not hold the port).
    """
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(
            bind.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except socket.gaierror:
        return f"--bind {bind} is not an address of this machine"
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            return f"port {port} is in use: give --port"
        if exc.errno == errno.EACCES:
            return f"port {port} needs administrator rights: give --port above 1023"
        return f"cannot listen on {bind} port {port}: {exc.strerror}"
    return None


def serve_settings(args: argparse.Namespace) -> ServeSettings:
    try:
        members = team.members(args.inbox)
    except team.TeamError as exc:
        raise CliError(str(exc)) from None
    if not members:
        raise CliError(f"{args.inbox} holds no team: run `haven partner team init` first")
    command: tuple[str, ...] = ()
    if args.alert_command is not None:
        try:
            command = tuple(shlex.split(args.alert_command))
        except ValueError:
            raise CliError("--alert-command is not a valid command line") from None
        if not command:
            raise CliError("--alert-command is empty")
    return ServeSettings(
        inbox=args.inbox,
        partner_id=args.partner,
        broker=_settings(args),
        mailbox=_mailbox_settings(args, required=False),
        idle_lock=args.idle_lock,
        pull_every=args.pull_every,
        alert_command=command,
        language=args.language,
        tls=args.tls_cert is not None,
        bind=args.bind,
        hosts=tuple(args.host),
    )


class _Server(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: ServeSettings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for name, value in self.options.items():
            self.cfg.set(name, value)

    def load(self) -> Any:
        # Made in the worker process: the key and the sessions live there only.
        return create_app(self.settings)


def gunicorn_options(args: argparse.Namespace) -> dict[str, Any]:
    host = f"[{args.bind}]" if ":" in args.bind and not args.bind.startswith("[") else args.bind
    options: dict[str, Any] = {
        "bind": [f"{host}:{args.port}"],
        "workers": 1,
        "worker_class": "gthread",
        "threads": THREADS,
        "timeout": REQUEST_TIMEOUT,
        # No access log: it would hold members' addresses, agents and case ids;
        # the intake's logger has no way to write request data at all.
        "accesslog": None,
        "logger_class": "intake.serving.gunicorn_logging.RequestBlindLogger",
        "disable_redirect_access_to_syslog": True,
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "haven-partner-serve",
        # No runtime control socket: nobody else on the machine reconfigures the inbox.
        "control_socket_disable": True,
        "preload_app": False,
    }
    if args.tls_cert is not None:
        options.update(certfile=str(args.tls_cert), keyfile=str(args.tls_key))
    return options


def run_serve(args: argparse.Namespace) -> int:
    refusal = tls_refusal(args) or tls_file_refusal(args.tls_cert, args.tls_key)
    if refusal is not None:
        print(f"haven: error: {refusal}", file=sys.stderr)
        return EXIT_USAGE
    settings = serve_settings(args)
    refusal = bind_refusal(args.bind, args.port)
    if refusal is not None:
        print(f"haven: error: {refusal}", file=sys.stderr)
        return EXIT_USAGE
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # pika logs a failed connection as several ERROR lines and a traceback,
    # every pull while the broker is away; the pull logs its own one line.
    logging.getLogger("pika").setLevel(logging.CRITICAL)
    scheme = "https" if settings.tls else "http"
    host = f"[{args.bind}]" if ":" in args.bind else args.bind
    print(
        f"haven partner serve: {scheme}://{host}:{args.port}/ "
        f"(locks after {settings.idle_lock:g} s idle)",
        file=sys.stderr,
        flush=True,
    )
    _Server(settings, gunicorn_options(args)).run()
    return 0
