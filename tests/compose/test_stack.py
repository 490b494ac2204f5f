"""The compose stack, up for real under Docker (`make test-compose`).

docs/operators.md tells an operator to run scripts/compose-secrets, put the
network's directory and key in ./network/, and `docker compose up -d --build`.
This test does exactly that in a copy of the checkout, then checks, from the
host as a partner and an operator would:

* every service becomes healthy: the broker's staged checks, the one-shot
  `provision`, the intake, two routers (`--scale worker=2`), the deliverer;
* a request sealed and submitted with `haven submit` through the published
  intake port is pulled by the partner with `haven partner pull` through the
  published broker port, with the user `haven provision` made for it;
* `haven ops status` reads the stack as haven-admin;
* Prometheus (monitoring profile) scrapes every target, and promtool
  accepts its configuration and the alert rules;
* every published port is on 127.0.0.1;

and `docker compose down -v` removes it all.
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.request
from collections.abc import Iterator

import pytest

from tests.compose.stack import EXAMPLE, PARTNER, Say, Stack, haven_cli

pytestmark = pytest.mark.compose

ROUTERS = 2
# Each job of deploy/prometheus/prometheus.yml and how many targets it has here.
TARGETS = {"haven-intake": 1, "haven-router": ROUTERS, "haven-deliver": 1, "rabbitmq": 1}
MEMBER_PASSPHRASE = "test-only member passphrase of the compose test"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, say: Say) -> Iterator[Stack]:
    where = tmp_path_factory.mktemp("compose")
    project = f"haven-test-{secrets.token_hex(4)}"
    stack = Stack.prepare(where, project, ["docker-compose.yml"], say)
    say(f"\ncompose project {project}: docker compose up -d --build --scale worker={ROUTERS}")
    with stack.up(ROUTERS, {"rabbitmq": 1, "postgres": 1, "intake": 1, "deliver": 1}):
        yield stack


def test_every_published_port_is_on_loopback(stack: Stack) -> None:
    published = [
        (row["Service"], port)
        for row in stack.containers()
        for port in row.get("Publishers") or []  # type: ignore[attr-defined]
        if port.get("PublishedPort")
    ]
    assert published, "the stack publishes the intake and the broker"
    for service, port in published:
        assert port["URL"] == "127.0.0.1", (service, port)


def test_a_request_submitted_through_the_intake_is_pulled_by_its_partner(
    stack: Stack, say: Say
) -> None:
    keys = stack.keys
    queued = haven_cli(
        "submit", EXAMPLE, "--url", stack.url("INTAKE"), "--network-key", "net.pub",
        "--region", "ru-central", "--language", "ru", "--urgency", "normal", cwd=keys,
    )  # fmt: skip
    request_id = queued.split("queued: ", 1)[1].split()[0]
    say(f"  submitted through 127.0.0.1:{stack.ports['INTAKE']}: {request_id}")

    (keys / "member-passphrase").write_text(MEMBER_PASSPHRASE + "\n")
    member = ("--member", "ops", "--passphrase-file", "member-passphrase")
    haven_cli(
        "partner", "team", "init", "--inbox", "inbox", "--key", "partner.key",
        "--passphrase-file", "passphrase", "--member", "ops",
        "--new-passphrase-file", "member-passphrase", cwd=keys,
    )  # fmt: skip
    url_file = stack.partner_url_file()
    pulled: list[str] = []
    deadline = time.monotonic() + 60
    # The routers take it from haven.intake to the partner's queue first.
    while not pulled and time.monotonic() < deadline:
        haven_cli(
            "partner", "pull", "--inbox", "inbox", *member, "--partner", PARTNER,
            "--broker-url-file", url_file, "--intake-url", stack.url("INTAKE"), cwd=keys,
        )  # fmt: skip
        listed = json.loads(
            haven_cli("partner", "list", "--inbox", "inbox", *member, "--json", cwd=keys)
        )
        pulled = [entry["id"] for entry in listed]
        if not pulled:
            time.sleep(2)
    assert pulled == [request_id]
    say(f"  pulled by {PARTNER} through 127.0.0.1:{stack.ports['AMQP']}: {pulled[0]}")

    shown = json.loads(
        haven_cli("partner", "show", request_id, "--inbox", "inbox", *member, "--json", cwd=keys)
    )
    assert shown["content"] == json.loads(EXAMPLE.read_text())


def test_ops_status_reads_the_stack(stack: Stack, say: Say) -> None:
    status = json.loads(haven_cli("ops", "status", "--json", cwd=stack.keys, env=stack.admin_env()))
    queues = {queue["queue"]: queue for queue in status["queues"]}
    assert queues["haven.intake"]["consumers"] == ROUTERS
    # Beside the demo partners' queues, which deploy/rabbitmq/definitions.json declares.
    assert PARTNER in [p["partner"] for p in status["partners"]]
    say(f"  haven ops status: {len(queues)} queues, haven.intake has {ROUTERS} consumers")


def test_prometheus_scrapes_every_target_and_promtool_accepts_the_rules(
    stack: Stack, say: Say
) -> None:
    stack.compose("--profile", "monitoring", "up", "--detach", "prometheus")
    for check in (
        ["check", "config", "/etc/prometheus/prometheus.yml"],
        ["check", "rules", "/etc/prometheus/alerts.yml"],
    ):
        done = stack.compose("exec", "-T", "prometheus", "promtool", *check)
        say(f"  promtool {' '.join(check[:2])}: {done.stdout.strip().splitlines()[-1]}")
    deadline = time.monotonic() + 120
    while True:
        targets = f"{stack.url('PROMETHEUS')}/api/v1/targets"  # http on loopback, built here
        with urllib.request.urlopen(targets, timeout=10) as answer:  # noqa: S310
            active = json.load(answer)["data"]["activeTargets"]
        up: dict[str, int] = {}
        for target in active:
            if target["health"] == "up":
                up[target["labels"]["job"]] = up.get(target["labels"]["job"], 0) + 1
        if up == TARGETS:
            break
        if time.monotonic() > deadline:
            down = [(t["labels"]["job"], t["health"], t.get("lastError")) for t in active]
            raise AssertionError(f"targets up {up}, wanted {TARGETS}: {down}")
        time.sleep(3)
    say("  prometheus targets up: " + ", ".join(f"{job} {n}" for job, n in sorted(up.items())))


def test_the_partner_key_and_passphrases_stay_out_of_the_images(stack: Stack) -> None:
    # The partner's private key is made on the host and never enters the
    # build context (.dockerignore allow-lists the package only).
    done = stack.compose("exec", "-T", "intake", "sh", "-c", "ls /app /etc/haven/network")
    assert "partner.key" not in done.stdout
    assert sorted(done.stdout.split()) == [
        "/app:",
        "/etc/haven/network:",
        "directory.json",
        "network.pub",
    ]
