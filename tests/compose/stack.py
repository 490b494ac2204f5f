"""The compose stack under a real Docker engine, for `make test-compose` and `make test-cluster`.

A `Stack` is a copy of this checkout (the files git tracks or would track,
so uncommitted changes are tested too) in a folder of the test's own, with
its own ./network/ (a network key and a signed directory made by the real
`haven` CLI) and ./secrets/ (made by scripts/compose-secrets), brought up
under a compose project name of its own with every published port moved to
a free port on 127.0.0.1. Nothing is shared with an operator's stack or the
machine's own RabbitMQ, and `down -v` leaves no container, network or volume.

The images the compose files pin come from the registry where one is
reachable, else from scripts/standin-images (which `make test-compose` runs
first). Grafana has no stand-in: the tests start Prometheus alone from the
monitoring profile.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.repo import REPO

Say = Callable[[str], None]
PASSPHRASE = "test-only passphrase of the compose stack's network key"
EXAMPLE = REPO / "haven" / "examples" / "desertion.json"
PARTNER = "compose-test"
# The publish ports the compose files read (HAVEN_PUBLISH_*), each moved to
# a free port so the machine's own RabbitMQ on 5672 and an operator's stack
# are left alone. The _2 and _3 ports are the cluster's other two nodes
# (docker-compose.cluster.yml); a one-node stack just never reads them.
PUBLISHED = (
    "INTAKE", "AMQP", "MANAGEMENT", "PROMETHEUS", "GRAFANA",
    "AMQP_2", "AMQP_3", "MANAGEMENT_2", "MANAGEMENT_3",
)  # fmt: skip


def progress(config: pytest.Config) -> Say:
    """Lines shown as the stack comes up, past pytest's capture (what `make test-compose` prints)."""
    capture = config.pluginmanager.getplugin("capturemanager")
    reporter = config.pluginmanager.getplugin("terminalreporter")

    def say(text: str) -> None:
        with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            if reporter is not None:
                reporter.write_line(text)

    return say


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def checkout_files() -> list[Path]:
    """The checkout's files as git sees them: tracked and untracked-but-not-ignored."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout
    return [Path(name) for name in listed.decode().split("\0") if name]


def haven_cli(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    """Run the real `haven` command; its output, or the test fails with its one error line."""
    done = subprocess.run(
        [sys.executable, "-m", "haven.cli.main", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )
    if done.returncode != 0:
        raise AssertionError(f"haven {args[0]} {args[1]} failed: {done.stderr.strip()}")
    return done.stdout


@dataclass
class Stack:
    """One compose project: its folder, its name, its compose files and published ports."""

    root: Path
    project: str
    files: Sequence[str]
    say: Say
    ports: dict[str, int] = field(default_factory=dict)
    # More variables the compose files read from the shell (HAVEN_WORKERS ...).
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def prepare(cls, where: Path, project: str, files: Sequence[str], say: Say) -> Stack:
        root = where / "haven"
        for name in checkout_files():
            source = REPO / name
            if source.is_file():  # a tracked file deleted in the work tree is left out
                (root / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, root / name)
        stack = cls(root, project, files, say, {name: free_port() for name in PUBLISHED})
        stack._make_network()
        stack._make_secrets(cluster=len(files) > 1)
        return stack

    # -- set-up, as docs/operators.md tells an operator ----------------------

    def _make_network(self) -> None:
        keys = self.root.parent / "keys"
        keys.mkdir()
        (keys / "passphrase").write_text(PASSPHRASE + "\n")
        pw = ("--passphrase-file", "passphrase")
        haven_cli(
            "network", "create", "--network-id", "haven-compose-test", "--key", "net.key",
            "--verify-key", "net.pub", "--directory", "dir.json", *pw, cwd=keys,
        )  # fmt: skip
        haven_cli("keygen", "--key", "partner.key", "--public", "partner.pub", *pw, cwd=keys)
        haven_cli(
            "directory", "add-partner", "--directory", "dir.json", "--key", "net.key", *pw,
            "--id", PARTNER, "--name", "Compose test partner", "--categories", "desertion",
            "--regions", "ru-central", "--languages", "ru", "--capacity", "100",
            "--public-key", "partner.pub", cwd=keys,
        )  # fmt: skip
        network = self.root / "network"
        network.mkdir()
        shutil.copy(keys / "dir.json", network / "directory.json")
        shutil.copy(keys / "net.pub", network / "network.pub")
        # Read by the containers' own user (uid 10001), bind-mounted read-only.
        for path in network.iterdir():
            path.chmod(0o644)
        network.chmod(0o755)

    def _make_secrets(self, *, cluster: bool) -> None:
        if os.geteuid() != 0:
            raise AssertionError(
                "the compose stack's tests run as root: scripts/compose-secrets gives each "
                "secret file to the container user that reads it"
            )
        subprocess.run(
            [sys.executable, "scripts/compose-secrets", "--dir", "secrets"]
            + (["--cluster"] if cluster else []),
            cwd=self.root,
            capture_output=True,
            check=True,
            timeout=60,
        )

    @property
    def keys(self) -> Path:
        return self.root.parent / "keys"

    def secret(self, name: str) -> str:
        return (self.root / "secrets" / name).read_text().splitlines()[0]

    # -- compose ---------------------------------------------------------------

    def compose(
        self, *args: str, timeout: float = 600, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            # An image of this project's own (removed by down()): a run beside
            # it, or an operator's stack, never starts this checkout's code.
            "HAVEN_IMAGE_TAG": self.project,
            **self.env,
            **{f"HAVEN_PUBLISH_{k}": str(v) for k, v in self.ports.items()},
        }
        command = ["docker", "compose", "-p", self.project]
        for name in self.files:
            command += ["-f", name]
        done = subprocess.run(
            [*command, *args],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"docker compose {' '.join(args)} failed:\n{done.stderr[-4000:]}{done.stdout[-2000:]}"
            )
        return done

    def containers(self) -> list[dict[str, object]]:
        out = self.compose("ps", "--all", "--format", "json").stdout
        rows: list[dict[str, object]] = []
        for line in filter(None, map(str.strip, out.splitlines())):
            parsed = json.loads(line)
            rows.extend(parsed if isinstance(parsed, list) else [parsed])
        return rows

    def wait_ready(
        self, wanted: dict[str, int], *, one_shot: Sequence[str], timeout: float
    ) -> None:
        """Until `wanted[service]` containers of each service are healthy and each one-shot exited 0."""
        deadline = time.monotonic() + timeout
        said: set[str] = set()
        while True:
            rows = self.containers()
            healthy = Counter(str(r["Service"]) for r in rows if r.get("Health") == "healthy")
            for row in rows:
                service = str(row["Service"])
                if service in one_shot and row.get("State") == "exited":
                    if row.get("ExitCode") != 0:
                        raise AssertionError(
                            f"{service} exited {row.get('ExitCode')}:\n{self.logs(service)}"
                        )
                    healthy[service] += 1
            for service, count in sorted(healthy.items()):
                if service not in said and count >= wanted.get(
                    service, 1 if service in one_shot else 0
                ):
                    said.add(service)
                    what = "done" if service in one_shot else "healthy"
                    self.say(f"  {service}: {count} {what}")
            missing = {s: n for s, n in wanted.items() if healthy[s] < n}
            missing.update({s: 1 for s in one_shot if healthy[s] < 1})
            if not missing:
                return
            for row in rows:
                if row.get("Health") == "unhealthy":
                    service = str(row["Service"])
                    raise AssertionError(f"{service} is unhealthy:\n{self.logs(service)}")
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"not ready after {timeout:.0f} s: {missing}\n"
                    + "\n".join(self.logs(s) for s in missing)
                )
            time.sleep(2)

    @contextlib.contextmanager
    def up(self, routers: int, wanted: dict[str, int]) -> Iterator[Stack]:
        """`up -d --build --scale worker=N`, until `wanted` is healthy and provision done; always down afterwards."""
        try:
            self.compose("up", "--detach", "--build", "--scale", f"worker={routers}", timeout=900)
            self.wait_ready({**wanted, "worker": routers}, one_shot=["provision"], timeout=420)
            yield self
        finally:
            self.down()
            left = self.compose("ps", "--all", "--quiet", check=False).stdout.strip()
            self.say(
                f"compose project {self.project}: down --volumes"
                + (f" LEFT {left}" if left else "")
            )

    def logs(self, service: str) -> str:
        return self.compose("logs", "--no-color", "--tail", "40", service, check=False).stdout

    def down(self) -> None:
        """Remove the project's containers, networks, volumes and its own image.

        Called from `finally`: it never raises, so the error that brought the
        test here is the one reported; what it could not remove is said.
        """
        done = self.compose(
            "--profile", "monitoring", "down", "--volumes", "--remove-orphans", "--timeout", "20",
            check=False,
        )  # fmt: skip
        if done.returncode != 0:
            self.say(f"docker compose down failed: {done.stderr.strip()[-500:]}")
        # Not `down --rmi`: "local" keeps a tagged image, "all" would take the
        # pinned broker and database images too.
        subprocess.run(
            ["docker", "image", "rm", f"haven:{self.project}"],
            capture_output=True,
            check=False,
            timeout=120,
        )

    # -- the stack, seen from the host -----------------------------------------

    def url(self, name: str, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.ports[name]}"

    def admin_env(self) -> dict[str, str]:
        """The environment of an operator's `haven ops` run as haven-admin, from the host."""
        password = self.secret("rabbitmq-admin.password")
        return {
            **os.environ,
            "HAVEN_AMQP_URL": f"amqp://haven-admin:{password}@127.0.0.1:{self.ports['AMQP']}/%2F",
            "HAVEN_MANAGEMENT_URL": self.url("MANAGEMENT"),
            "HAVEN_MANAGEMENT_USER": "haven-admin",
            "HAVEN_MANAGEMENT_PASSWORD_FILE": str(
                self.root / "secrets" / "rabbitmq-admin.password"
            ),
        }

    def partner_url_file(self) -> Path:
        """The partner's broker URL, with the password `haven provision` wrote for it."""
        password = (self.root / "secrets" / "partners" / f"{PARTNER}.password").read_text().strip()
        path = self.keys / "broker-url"
        path.write_text(
            f"amqp://haven-partner-{PARTNER}:{password}@127.0.0.1:{self.ports['AMQP']}/%2F\n"
        )
        path.chmod(0o600)
        return path
