"""Finding a broker for the demo network: the configured one, else one this machine can start.

In order:

1. the configured URL (`HAVEN_AMQP_URL`, default the local guest broker),
   if a broker answers there;
2. if that URL is on this machine, a Docker engine answers and the compose
   stack's secrets exist (scripts/compose-secrets): the stack's `rabbitmq`
   service (`docker compose up -d --wait rabbitmq`), as its admin user;
3. else a local `rabbitmq-server`, installed with apt where the system
   allows and started (`scripts/ensure-rabbitmq`).

The caller prints the one line `Broker.line` so a newcomer knows which it
was. The URL shown never includes the password.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

import pika
from pika.exceptions import AMQPError

from haven.cli.common import CliError

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
START_SECONDS = 180


@dataclass(frozen=True)
class Broker:
    url: str
    line: str


def shown(url: str) -> str:
    """The URL without its password, for a line a person reads."""
    parts = urlsplit(url)
    user = f"{parts.username}@" if parts.username else ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{user}{parts.hostname}{port}{parts.path or '/'}"


def answers(url: str, timeout: float = 3.0) -> bool:
    params = pika.URLParameters(url)
    params.connection_attempts = 1
    params.socket_timeout = timeout
    params.stack_timeout = timeout * 2
    try:
        connection = pika.BlockingConnection(params)
    except (AMQPError, OSError):
        return False
    connection.close()
    return True


def _wait(url: str) -> bool:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if answers(url):
            return True
        time.sleep(2)
    return False


def _docker_engine() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    done = subprocess.run(  # noqa: S603 - fixed argv, no shell
        [docker, "info", "--format", "{{.ServerVersion}}"],
        capture_output=True,
        timeout=20,
        check=False,
    )
    return done.returncode == 0


def find_broker(url: str, repo: Path | None) -> Broker:
    """The configured broker if it answers; else, from a source checkout (`repo`), one started here."""
    if answers(url):
        return Broker(url, f"Broker: the configured one at {shown(url)}, which answers")
    if urlsplit(url).hostname not in LOCAL_HOSTS:
        # Starting a local broker would not make a remote URL answer.
        raise CliError(f"no broker answers at {shown(url)} (HAVEN_AMQP_URL)")
    if repo is None:
        # An installed Haven has no compose file nor start-up script beside it.
        raise CliError(
            f"no broker answers at {shown(url)}: start RabbitMQ (with its management plugin) "
            "and set HAVEN_AMQP_URL, or run `make run` from a source checkout, which starts one"
        )
    compose = repo / "docker-compose.yml"
    admin_file = repo / "secrets" / "rabbitmq-admin.password"
    # The compose stack's broker has no guest user: it is used only once its
    # secrets exist (scripts/compose-secrets), and then as its admin.
    if compose.exists() and admin_file.exists() and _docker_engine():
        done = subprocess.run(  # noqa: S603 - fixed argv, no shell
            ["docker", "compose", "-f", str(compose), "up", "-d", "--wait", "rabbitmq"],  # noqa: S607
            check=False,
            timeout=START_SECONDS,
        )
        password = quote(admin_file.read_text().strip(), safe="")
        admin_url = f"amqp://haven-admin:{password}@127.0.0.1:5672/%2F"
        if done.returncode == 0 and _wait(admin_url):
            return Broker(
                admin_url,
                f"Broker: started the compose stack's rabbitmq service at {shown(admin_url)}",
            )
    script = repo / "scripts" / "ensure-rabbitmq"
    done = subprocess.run([str(script)], check=False, timeout=START_SECONDS * 2)  # noqa: S603
    if done.returncode == 0 and _wait(url):
        return Broker(
            url,
            f"Broker: started this machine's rabbitmq-server at {shown(url)} (scripts/ensure-rabbitmq)",
        )
    raise CliError(
        f"no broker answers at {shown(url)}, and none could be started here "
        "(no Docker engine; scripts/ensure-rabbitmq failed: see above)"
    )


def _management_answers(management_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{management_url}/api/overview", timeout=3):  # noqa: S310 - operator-given http(s) URL  # nosec B310
            return True
    except urllib.error.HTTPError as refused:
        refused.close()
        return True  # 401 without credentials: the API is there
    except (urllib.error.URLError, OSError):
        return False


def ensure_management(management_url: str, amqp_url: str, repo: Path | None) -> None:
    """Partner users are provisioned through the management API: enable it on a local broker."""
    if _management_answers(management_url):
        return
    if repo is not None and urlsplit(amqp_url).hostname in LOCAL_HOSTS:
        script = [str(repo / "scripts" / "ensure-rabbitmq")]
        subprocess.run(script, check=False, timeout=START_SECONDS)  # noqa: S603 - our own script
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if _management_answers(management_url):
                return
            time.sleep(1)
    raise CliError(
        f"the broker's management API does not answer at {management_url}: "
        "enable the rabbitmq_management plugin (or set HAVEN_MANAGEMENT_URL)"
    )
