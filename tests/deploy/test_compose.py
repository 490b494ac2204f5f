"""The compose stack, the image and monitoring, checked without a Docker engine.

No Docker engine runs where the tests run, so `docker compose config` is
replaced by the Compose specification's own JSON schema (vendored by
check-jsonschema), and what a container would run is run here, from .venv.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import json
import os
import re
import runpy
import subprocess
import sys
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from gunicorn.config import KNOWN_SETTINGS
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from haven.broker import BrokerSettings, SettingsError
from haven.broker.definitions import definitions_json
from haven.cli.main import build_parser
from intake.metrics import IntakeMetrics
from intake.settings import DEFAULT_MAILBOX_RETENTION
from tests.deploy import builtin_schema
from tests.repo import REPO as ROOT
from worker.metrics import RouterMetrics
from worker.service import metrics_bind
from worker.webhook import WebhookMetrics

COMPOSE = ROOT / "docker-compose.yml"
CLUSTER = ROOT / "docker-compose.cluster.yml"
BIN = Path(sys.executable).parent
HAVEN_SERVICES = ("provision", "intake", "worker", "deliver")
# Provided by the operator, never in git (docs/operators.md).
OPERATOR_DIRS = ("secrets", "network")
# Exact versions: a re-pushed `latest` or `4.1` must not change what runs.
# PostgreSQL's releases are major.minor (17.6 is one exact release).
PINNED_POSTGRES = re.compile(r"^postgres:\d+\.\d+-[a-z]+$")
PINNED_IMAGE = re.compile(
    r"^[a-z0-9][a-z0-9._/-]*:v?\d+\.\d+\.\d+(-[a-z0-9.-]+)?(@sha256:[0-9a-f]{64})?$"
)


def load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load(COMPOSE)


@pytest.fixture(scope="module")
def cluster() -> dict[str, Any]:
    return load(CLUSTER)


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def rabbitmq_conf(name: str = "rabbitmq.conf") -> dict[str, str]:
    settings = {}
    for raw in (ROOT / "deploy" / "rabbitmq" / name).read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            settings[key.strip()] = value.strip()
    return settings


def bind_mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> host path (relative to the repository) of every bind mount."""
    mounts = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, target = volume.split(":")[:2]
            if not source.startswith(("./", "/")):
                continue  # a named volume
        elif volume.get("type") == "bind":
            source, target = volume["source"], volume["target"]
        else:
            continue
        mounts[target] = source
    return mounts


def secret_files(document: dict[str, Any]) -> dict[str, str]:
    return {name: spec["file"] for name, spec in document.get("secrets", {}).items()}


def is_gitignored(path: str) -> bool:
    result = subprocess.run(
        ["git", "check-ignore", "--quiet", "--no-index", path], cwd=ROOT, check=False
    )
    return result.returncode == 0


# (a) The Compose specification


@pytest.mark.parametrize("path", [COMPOSE, CLUSTER], ids=lambda p: p.name)
def test_compose_file_follows_the_compose_specification(path: Path) -> None:
    result = builtin_schema.check("vendor.compose-spec", path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_would_catch_a_mistake(tmp_path: Path) -> None:
    broken = tmp_path / "compose.yml"
    broken.write_text(
        "services:\n  intake:\n    image: haven:0.1.0\n    restart: sometimes-maybe\n    portz: []\n"
    )
    result = builtin_schema.check("vendor.compose-spec", broken)
    assert result.returncode == 1


# (b) Every file the stack refers to exists, or is the operator's and gitignored


def test_every_referenced_file_exists_or_is_operator_provided_and_gitignored(
    compose: dict[str, Any], cluster: dict[str, Any]
) -> None:
    referenced: set[str] = set()
    for document in (compose, cluster):
        referenced.update(secret_files(document).values())
        for service in document["services"].values():
            referenced.update(bind_mounts(service).values())
            build = service.get("build")
            if build:
                referenced.add(build["context"])
                referenced.add(str(PurePosixPath(build["context"]) / build["dockerfile"]))
    assert referenced
    for reference in sorted(referenced):
        relative = PurePosixPath(reference)
        assert not relative.is_absolute(), f"{reference}: host paths must be inside the repository"
        if relative.parts and relative.parts[0] in OPERATOR_DIRS:
            # A folder (./network) is checked through a file inside it.
            probe = str(relative / "any-file") if len(relative.parts) == 1 else str(relative)
            assert is_gitignored(probe), f"{reference} is operator-provided and must be gitignored"
        else:
            assert (ROOT / reference).exists(), f"{reference} is referenced but missing"


def test_operator_folders_are_gitignored_and_absent_from_git() -> None:
    for folder in OPERATOR_DIRS:
        assert is_gitignored(f"{folder}/anything")
        tracked = subprocess.run(
            ["git", "ls-files", folder], cwd=ROOT, capture_output=True, text=True, check=True
        )
        assert tracked.stdout == ""


def test_compose_secrets_script_makes_every_secret_file_the_stack_names(
    tmp_path: Path, compose: dict[str, Any], cluster: dict[str, Any]
) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "compose-secrets"),
            "--dir",
            str(tmp_path / "secrets"),
            "--cluster",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    made = tmp_path / "secrets"
    for document in (compose, cluster):
        for reference in secret_files(document).values():
            assert (tmp_path / reference).is_file(), reference
    for service in compose["services"].values():
        for source in bind_mounts(service).values():
            if source.startswith("./secrets/"):
                assert (tmp_path / source).is_dir(), source
                assert (tmp_path / source).stat().st_mode & 0o077 == 0
    assert (made.stat().st_mode & 0o077) == 0
    # Nothing secret is printed.
    for name in ("rabbitmq-admin.password", "intake.password", "grafana-admin.password"):
        assert (made / name).read_text().strip() not in result.stdout
    users = json.loads((made / "rabbitmq-users.json").read_text())
    names = {user["name"] for user in users["users"]}
    assert names == {"haven-admin", "haven-intake", "haven-router", "haven-deliver"}
    assert all("password" not in user for user in users["users"])
    assert all(
        user["hashing_algorithm"] == "rabbit_password_hashing_sha256" for user in users["users"]
    )
    # Every Haven service connects as one of these users.
    for service in HAVEN_SERVICES:
        assert compose["services"][service]["environment"]["HAVEN_AMQP_USER"] in names
    # Only the admin holds rights from this file; `haven provision
    # --service-users` gives each service its own (tests/haven/broker/test_service_users.py).
    assert [(p["user"], p["configure"]) for p in users["permissions"]] == [("haven-admin", ".*")]
    assert "--service-users" in compose["services"]["provision"]["command"]


def test_compose_secrets_gives_each_file_to_the_container_user_that_reads_it(
    tmp_path: Path,
) -> None:
    made = tmp_path / "secrets"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "compose-secrets"),
            "--dir",
            str(made),
            "--cluster",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    # RabbitMQ and PostgreSQL run as uid 999 in their images, Grafana as 472,
    # Haven as 10001: a file owned by anyone else (mode 0400) cannot be read
    # by its container, and the broker does not boot without its users file.
    wanted = {
        "rabbitmq-users.json": 999,
        "erlang.cookie": 999,
        "postgres.password": 999,
        "grafana-admin.password": 472,
        "intake.password": 10001,
        "rabbitmq-admin.password": 10001,
        "router.key": 10001,
        "partners": 10001,
    }
    for name, uid in wanted.items():
        if os.geteuid() == 0:
            assert (made / name).stat().st_uid == uid, name
        else:
            assert f"chown {uid}:{uid} {made / name}" in result.stdout, name


def test_the_router_key_is_made_and_given_to_routers_and_the_deliverer_only(
    tmp_path: Path, compose: dict[str, Any]
) -> None:
    script = str(ROOT / "scripts" / "compose-secrets")
    subprocess.run(
        [sys.executable, script, "--dir", str(tmp_path)], capture_output=True, check=True
    )
    assert len((tmp_path / "router.key").read_bytes()) == 32
    holders = {
        name
        for name, service in compose["services"].items()
        if "router_key" in service.get("secrets", [])
    }
    # A partner-facing service holding it could seal routing state for a partner.
    assert holders == {"worker", "deliver"}
    for name in holders:
        assert (
            compose["services"][name]["environment"]["HAVEN_ROUTER_KEY_FILE"]
            == "/run/secrets/router_key"
        )


def test_every_intake_and_router_shares_the_one_store(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    # A router with a store of its own (or none) would honour a decline
    # replayed to it that another router already honoured (docs/routing.md).
    holders = {
        name for name, service in services.items() if "store_password" in service.get("secrets", [])
    }
    assert holders == {"intake", "worker"}
    for name in holders:
        environment = services[name]["environment"]
        assert environment["HAVEN_STORE_URL"] == "postgresql://haven@postgres:5432/haven"
        assert environment["HAVEN_STORE_PASSWORD_FILE"] == "/run/secrets/store_password"
        assert services[name]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert compose["secrets"]["store_password"] == {"file": "./secrets/store.password"}


def test_the_intake_keeps_mailboxes_for_the_documented_retention(
    services: dict[str, dict[str, Any]],
) -> None:
    """Listed with its default, so an operator sees it and can shorten it without editing the file."""
    setting = services["intake"]["environment"]["HAVEN_MAILBOX_RETENTION"]
    match = re.fullmatch(r"\$\{HAVEN_MAILBOX_RETENTION:-(\d+)\}", setting)
    assert match is not None, setting
    # The intake's own default, the 30 days docs/replies-v1.md section 4.1 promises.
    assert int(match.group(1)) == DEFAULT_MAILBOX_RETENTION == 30 * 86_400
    # Documented where operators look for the store's settings.
    assert "HAVEN_MAILBOX_RETENTION" in (ROOT / "docs" / "operators.md").read_text()


def test_rabbitmq_password_hash_is_rabbitmqs_sha256_scheme() -> None:
    # Salt CAFEBABE and password "foo", as RabbitMQ computes it
    # (base64 of salt followed by SHA-256(salt || password)).
    module = runpy.run_path(str(ROOT / "scripts" / "compose-secrets"), run_name="compose_secrets")
    hashed = module["rabbit_password_hash"]("foo", bytes.fromhex("cafebabe"))
    raw = base64.b64decode(hashed)
    assert raw[:4] == bytes.fromhex("cafebabe")
    assert raw[4:] == hashlib.sha256(bytes.fromhex("cafebabe") + b"foo").digest()


def test_image_copies_only_files_that_exist_and_the_build_context_allows() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    allowed = [
        line[1:].rstrip("/")
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.startswith("!")
    ]
    sources = []
    for line in dockerfile.splitlines():
        if line.startswith("COPY") and "--from" not in line:
            parts = [p for p in line.split()[1:] if not p.startswith("--")]
            sources += parts[:-1]
    assert sources
    for copied in sources:
        source = copied.rstrip("/")
        assert (ROOT / source).exists(), source
        assert any(source == a or source.startswith(a + "/") for a in allowed), source


def test_build_context_excludes_secrets_keys_and_local_state() -> None:
    lines = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    # An allow-list: everything is excluded first, then a few paths let in.
    assert lines[0] == "*"
    allowed = [line[1:] for line in lines if line.startswith("!")]
    for private in (
        ".venv",
        "web/node_modules",
        ".haven-demo",
        ".git",
        "secrets",
        "network",
        "tests",
        ".pytest_cache",
    ):
        assert not any(a == private or a.startswith(private + "/") for a in allowed), private
        assert private in lines or private == "tests"


def test_image_runs_as_a_fixed_non_root_user_without_build_tools() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    stages = re.split(r"^FROM ", dockerfile, flags=re.MULTILINE)
    final = stages[-1]
    assert final.startswith("${PYTHON_IMAGE} AS runtime")
    assert re.search(r"^USER 10001:10001$", final, re.MULTILINE)
    assert "PYTHONDONTWRITEBYTECODE=1" in final
    assert "PYTHONUNBUFFERED=1" in final
    for tool in ("gcc", "build-essential", "apt-get install"):
        assert tool not in final
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", dockerfile, re.MULTILINE)
    assert base is not None
    assert PINNED_IMAGE.match(base.group(1)), base.group(1)
    assert not re.search(r"(?i)(password|secret|token)\s*=", dockerfile)


def test_image_installs_only_locked_hash_checked_packages() -> None:
    # docs/operators.md, "Dependencies": the image runs the packages of
    # requirements/runtime.txt, each file checked against its hash.
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    commands = [
        command.strip()
        for line in dockerfile.splitlines()
        if line.startswith("RUN")
        for command in line.split("&&")
        if re.search(r"\bpip (install|download|wheel)\b", command)
    ]
    assert commands
    for command in commands:
        if "--require-hashes" in command:
            assert re.search(r"-r \S*requirements/(runtime|build)\.txt$", command), command
        else:
            # Haven itself, built from the copied sources: never its dependencies.
            assert "--no-deps" in command, command
            assert "--no-build-isolation" in command or "--no-index" in command, command
    runtime_stage = re.split(r"^FROM ", dockerfile, flags=re.MULTILINE)[-1]
    for command in commands:
        if command in runtime_stage:
            assert "--no-index" in command, command  # nothing fetched in the final stage


# (c) The definitions the broker loads are the generated ones


def test_broker_loads_the_generated_definitions_and_the_users_file(
    services: dict[str, dict[str, Any]],
) -> None:
    conf = rabbitmq_conf()
    assert conf["definitions.import_backend"] == "local_filesystem"
    folder = PurePosixPath(conf["definitions.local.path"])
    # The legacy management-plugin key must not load a second time.
    assert "management.load_definitions" not in conf
    assert "load_definitions" not in conf
    broker = services["rabbitmq"]
    mounts = bind_mounts(broker)
    topology = [
        source for target, source in mounts.items() if PurePosixPath(target).parent == folder
    ]
    assert topology == ["./deploy/rabbitmq/definitions.json"]
    assert (ROOT / topology[0]).read_text(encoding="utf-8") == definitions_json()
    users = [
        s for s in broker["secrets"] if isinstance(s, dict) and s["source"] == "rabbitmq_users"
    ]
    assert PurePosixPath(users[0]["target"]).parent == folder
    assert mounts["/etc/rabbitmq/enabled_plugins"] == "./deploy/rabbitmq/enabled_plugins"
    plugins = (ROOT / "deploy" / "rabbitmq" / "enabled_plugins").read_text(encoding="utf-8").strip()
    assert plugins == "[rabbitmq_management,rabbitmq_prometheus]."


def test_broker_limits_are_absolute_and_guest_cannot_come_in(
    services: dict[str, dict[str, Any]],
) -> None:
    conf = rabbitmq_conf()
    assert conf["vm_memory_high_watermark.absolute"].endswith("MiB")
    assert "disk_free_limit.absolute" in conf
    assert "vm_memory_high_watermark.relative" not in conf
    assert conf["loopback_users.guest"] == "true"
    assert conf["prometheus.return_per_object_metrics"] == "true"
    assert not any(key.startswith("default_user") or key.startswith("default_pass") for key in conf)
    # The config is mounted after the image's conf.d/10-defaults.conf, so it wins.
    assert (
        bind_mounts(services["rabbitmq"])["/etc/rabbitmq/conf.d/20-haven.conf"]
        == "./deploy/rabbitmq/rabbitmq.conf"
    )


# (d) What each container runs works here


def haven_commands(services: dict[str, dict[str, Any]]) -> list[list[str]]:
    return [services[name]["command"] for name in HAVEN_SERVICES]


def test_every_service_command_exists_and_answers_help(services: dict[str, dict[str, Any]]) -> None:
    for command in haven_commands(services):
        executable = BIN / command[0]
        assert executable.is_file(), command
        argv = (
            [str(executable), "--help"]
            if command[0] == "gunicorn"
            else [str(executable), command[1], "--help"]
        )
        result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
        assert result.returncode == 0, (command, result.stderr)


def test_provision_command_parses(services: dict[str, dict[str, Any]]) -> None:
    arguments = build_parser().parse_args(services["provision"]["command"][1:])
    assert arguments.command == "provision"
    assert str(arguments.credentials_dir) == "/var/lib/haven/partners"
    assert arguments.service_users


def test_gunicorn_config_loads_and_binds_where_compose_says(
    services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    command = services["intake"]["command"]
    # The settings ship inside the package: the image needs no file beside it.
    assert command == ["gunicorn", "-c", "python:intake.serving.gunicorn_conf"]
    monkeypatch.setenv("HAVEN_BIND", services["intake"]["environment"]["HAVEN_BIND"])
    module = importlib.reload(importlib.import_module(command[2].removeprefix("python:")))
    settings = vars(module)
    known = {setting.name for setting in KNOWN_SETTINGS}
    names = {k for k in settings if not k.startswith("_") and k not in {"os", "Any"}}
    assert names <= known | {"pre_request", "post_worker_init"}, names - known
    assert settings["bind"] == ["0.0.0.0:8080"]
    assert settings["accesslog"] is None


def test_entrypoint_builds_the_broker_url_from_a_password_file(tmp_path: Path) -> None:
    password = tmp_path / "password"
    password.write_text("s3cret-Pass_word~1\n")
    environment = {
        "PATH": os.environ["PATH"],
        "HAVEN_AMQP_USER": "haven-router",
        "HAVEN_AMQP_PASSWORD_FILE": str(password),
    }
    entrypoint = str(ROOT / "deploy" / "docker-entrypoint.sh")
    result = subprocess.run(
        ["sh", entrypoint, "sh", "-c", 'printf %s "$HAVEN_AMQP_URL"'],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout == "amqp://haven-router:s3cret-Pass_word~1@broker:5672/%2F"
    password.write_text("a@b:c\n")
    refused = subprocess.run(
        ["sh", entrypoint, "true"], env=environment, capture_output=True, text=True, check=False
    )
    assert refused.returncode == 2
    assert "a@b:c" not in refused.stderr
    assert os.access(entrypoint, os.X_OK)


def _entrypoint(environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            "sh",
            str(ROOT / "deploy" / "docker-entrypoint.sh"),
            "sh",
            "-c",
            'printf %s "$HAVEN_AMQP_URL"',
        ],
        env={"PATH": os.environ["PATH"], **environment},
        capture_output=True,
        text=True,
        check=False,
    )


def test_entrypoint_builds_one_url_per_node_of_a_cluster(tmp_path: Path) -> None:
    password = tmp_path / "password"
    password.write_text("s3cret-Pass_word~1\n")
    environment = {
        "HAVEN_AMQP_USER": "haven-intake",
        "HAVEN_AMQP_PASSWORD_FILE": str(password),
        "HAVEN_AMQP_HOST": "rabbitmq,rabbit_mq-2:5673, 10.0.0.3",
        "HAVEN_AMQP_PORT": "5671",
        "HAVEN_AMQP_VHOST": "network",
    }
    built = _entrypoint(environment)
    assert built.returncode == 0, built.stderr
    node = "amqp://haven-intake:s3cret-Pass_word~1@{}/network"
    assert built.stdout == ",".join(
        node.format(host) for host in ("rabbitmq:5671", "rabbit_mq-2:5673", "10.0.0.3:5671")
    )
    # What the entrypoint builds is what Haven reads: the nodes, in order.
    settings = BrokerSettings.from_env({"HAVEN_AMQP_URL": built.stdout})
    assert [urlsplit(url).hostname for url in settings.urls] == [
        "rabbitmq",
        "rabbit_mq-2",
        "10.0.0.3",
    ]
    for hosts in ("rabbitmq,,rabbitmq-2", "rabbit@evil", "rabbitmq/x", "rabbitmq:56x", ",", "*"):
        refused = _entrypoint({**environment, "HAVEN_AMQP_HOST": hosts})
        assert refused.returncode == 2, hosts
        assert refused.stdout == ""
        assert refused.stderr.startswith("haven-entrypoint: "), hosts
        assert "s3cret" not in refused.stderr


def test_metrics_bind_defaults_to_loopback_and_takes_ip_literals_only() -> None:
    assert metrics_bind({}) == "127.0.0.1"
    everywhere = "0.0.0.0"  # noqa: S104 - the value under test, not a bind
    assert metrics_bind({"HAVEN_METRICS_BIND": everywhere}) == everywhere
    assert metrics_bind({"HAVEN_METRICS_BIND": "::"}) == "::"
    with pytest.raises(SettingsError, match="HAVEN_METRICS_BIND"):
        metrics_bind({"HAVEN_METRICS_BIND": "worker.example"})


# (e) Exposure, privileges, pinned images


def test_published_ports_are_loopback_only(
    compose: dict[str, Any], cluster: dict[str, Any]
) -> None:
    for document in (compose, cluster):
        for name, service in document["services"].items():
            for port in service.get("ports", []):
                if isinstance(port, dict):
                    assert port.get("host_ip") == "127.0.0.1", name
                else:
                    assert str(port).startswith("127.0.0.1:"), (name, port)


def test_no_service_is_privileged_or_shares_the_host(
    compose: dict[str, Any], cluster: dict[str, Any]
) -> None:
    for document in (compose, cluster):
        for name, service in document["services"].items():
            assert service.get("privileged", False) is False, name
            assert "cap_add" not in service, name
            for key in ("network_mode", "pid", "ipc", "userns_mode"):
                assert service.get(key) != "host", (name, key)
            assert "container_name" not in service, name
            assert "/var/run/docker.sock" not in json.dumps(service.get("volumes", [])), name


def test_images_are_pinned_to_exact_versions(
    compose: dict[str, Any], cluster: dict[str, Any]
) -> None:
    images = [
        # Haven's own image: its tag as operators get it (the variable is the
        # stack tests' own, tests/compose/stack.py).
        service["image"].replace("${HAVEN_IMAGE_TAG:-0.1.0}", "0.1.0")
        for document in (compose, cluster)
        for service in document["services"].values()
        if "image" in service
    ]
    assert len(images) >= 7
    for image in images:
        assert PINNED_IMAGE.match(image) or PINNED_POSTGRES.match(image), image
        assert ":latest" not in image


def test_services_start_in_order_and_provision_runs_once(
    services: dict[str, dict[str, Any]],
) -> None:
    assert services["provision"]["restart"] == "no"
    assert services["provision"]["depends_on"]["rabbitmq"]["condition"] == "service_healthy"
    for name in ("intake", "worker", "deliver"):
        wanted = services[name]["depends_on"]
        assert wanted["rabbitmq"]["condition"] == "service_healthy", name
        assert wanted["provision"]["condition"] == "service_completed_successfully", name
    checks = services["rabbitmq"]["healthcheck"]["test"][1]
    stages = [stage.strip() for stage in checks.split("&&")]
    assert stages == [
        "rabbitmq-diagnostics -q ping",
        "rabbitmq-diagnostics -q check_running",
        "rabbitmq-diagnostics -q check_local_alarms",
    ]
    assert services["rabbitmq"]["hostname"] == "rabbitmq"


def test_metrics_ports_open_to_all_addresses_only_on_the_internal_network(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    assert compose["networks"]["backend"]["internal"] is True
    for name in ("worker", "deliver"):
        service = services[name]
        assert service["environment"]["HAVEN_METRICS_BIND"] == "0.0.0.0"  # noqa: S104
        assert "ports" not in service, name
        assert "edge" not in service["networks"], name
    # The router reaches only the broker and the store.
    assert services["worker"]["networks"] == ["backend"]


def test_haven_services_are_locked_down(services: dict[str, dict[str, Any]]) -> None:
    for name in HAVEN_SERVICES:
        service = services[name]
        assert service["read_only"] is True, name
        assert service["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in service["security_opt"], name
        # Secrets come from files, never from the environment.
        for key, value in service["environment"].items():
            # The store's URL names a user and a host; its password comes from a file.
            if key == "HAVEN_STORE_URL":
                assert urlsplit(value).password is None, key
                continue
            assert not re.search(r"(?i)password$|secret$|_URL$", key) or key.endswith("_FILE"), key
            assert "://" not in str(value) or key == "HAVEN_MANAGEMENT_URL", key


# (f) The dashboard and alerts ask only for metrics that exist

# RabbitMQ's Prometheus plugin (rabbitmq_prometheus, 4.x): names from its
# metrics documentation. Per-queue series (rabbitmq_queue_*) need
# prometheus.return_per_object_metrics = true, which rabbitmq.conf sets.
RABBITMQ_METRICS = frozenset(
    {
        "rabbitmq_queue_messages",
        "rabbitmq_queue_messages_ready",
        "rabbitmq_queue_messages_unacked",
        "rabbitmq_queue_consumers",
        "rabbitmq_alarms_memory_used_watermark",
        "rabbitmq_alarms_free_disk_space_watermark",
        "rabbitmq_process_resident_memory_bytes",
        "rabbitmq_resident_memory_limit_bytes",
        "rabbitmq_disk_space_available_bytes",
    }
)
# Prometheus's own series for every target.
PROMETHEUS_METRICS = frozenset({"up"})
PROMQL_WORDS = frozenset(
    {
        "sum",
        "max",
        "min",
        "avg",
        "count",
        "by",
        "without",
        "rate",
        "increase",
        "irate",
        "histogram_quantile",
        "absent",
        "or",
        "and",
        "unless",
        "on",
        "ignoring",
        "le",
    }
)


def exported_metric_names() -> set[str]:
    intake, router, webhook = IntakeMetrics(), RouterMetrics(), WebhookMetrics()
    # Touch every labelled metric once, so that its series are exposed.
    intake.observe("api.submit", "accepted", "desertion", 0.01)
    intake.broker_unavailable.labels("down").inc()
    for counter in (
        router.routed,
        router.rerouted,
        router.redelivered,
        router.expired,
        router.retries,
    ):
        counter.labels("desertion", "p").inc()
    router.declined.labels("desertion", "p", "other").inc()
    for counter in (router.unassigned, router.quarantined, router.duplicates):
        counter.labels("desertion").inc()
    webhook.deliveries.labels("p", "accepted").inc()
    webhook.post_seconds.labels("p").observe(0.2)
    names = set()
    for registry in (intake.registry, router.registry, webhook.registry):
        text = generate_latest(registry).decode()
        for family in text_string_to_metric_families(text):
            names.update(sample.name for sample in family.samples)
    return names


def metric_names_in(expression: str) -> set[str]:
    stripped = re.sub(r'"(?:[^"\\]|\\.)*"', "", expression)  # label values
    stripped = re.sub(r"\{[^}]*\}", "", stripped)  # label matchers
    stripped = re.sub(r"\[[^\]]*\]", "", stripped)  # ranges
    stripped = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", stripped)  # grouping labels
    tokens = set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", stripped))
    return {token for token in tokens if token not in PROMQL_WORDS}


def dashboard_expressions() -> list[str]:
    dashboard = json.loads(
        (ROOT / "deploy" / "grafana" / "dashboards" / "haven.json").read_text(encoding="utf-8")
    )
    expressions = []
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            continue
        assert panel["targets"], panel["title"]
        assert panel["datasource"]["uid"] == "haven-prometheus"
        expressions += [target["expr"] for target in panel["targets"]]
    return expressions


def test_metric_name_extraction_finds_names_and_skips_labels() -> None:
    assert metric_names_in(
        'histogram_quantile(0.95, sum by (le, partner) (rate(haven_webhook_post_seconds_bucket{partner="x"}[5m])))'
    ) == {"haven_webhook_post_seconds_bucket"}
    assert metric_names_in('max by (queue) (rabbitmq_queue_messages{queue=~"haven\\\\..*"})') == {
        "rabbitmq_queue_messages"
    }


def test_dashboard_queries_name_only_exported_metrics() -> None:
    known = exported_metric_names() | RABBITMQ_METRICS | PROMETHEUS_METRICS
    expressions = dashboard_expressions()
    used = set().union(*(metric_names_in(e) for e in expressions))
    assert used - known == set()
    # Every Haven family is on the dashboard at least once.
    for family in ("haven_intake_", "haven_router_", "haven_webhook_", "rabbitmq_queue_messages"):
        assert any(name.startswith(family) for name in used), family


def test_dashboard_has_the_panels_operators_need() -> None:
    dashboard = json.loads(
        (ROOT / "deploy" / "grafana" / "dashboards" / "haven.json").read_text(encoding="utf-8")
    )
    assert dashboard["uid"] == "haven-overview"
    titles = {panel["title"] for panel in dashboard["panels"]}
    for wanted in (
        "Queue depth per queue",
        "Unassigned requests",
        "Quarantined messages",
        "Routing rates",
        "Intake latency (submissions)",
        "Intake answers by outcome",
    ):
        assert wanted in titles
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_alert_rules_name_only_exported_metrics() -> None:
    known = exported_metric_names() | RABBITMQ_METRICS | PROMETHEUS_METRICS
    rules = load(ROOT / "deploy" / "prometheus" / "alerts.yml")
    expressions = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    assert expressions
    for expression in expressions:
        assert metric_names_in(expression) <= known, expression


def test_grafana_is_provisioned_from_the_repository(services: dict[str, dict[str, Any]]) -> None:
    grafana = services["grafana"]
    mounts = bind_mounts(grafana)
    datasources = load(ROOT / mounts["/etc/grafana/provisioning/datasources"] / "prometheus.yml")
    (source,) = datasources["datasources"]
    assert source["uid"] == "haven-prometheus"
    assert source["url"] == "http://prometheus:9090"
    providers = load(ROOT / mounts["/etc/grafana/provisioning/dashboards"] / "haven.yml")
    path = providers["providers"][0]["options"]["path"]
    assert (ROOT / mounts[path] / "haven.json").is_file()
    assert grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD__FILE"].startswith("/run/secrets/")
    for name in ("prometheus", "grafana"):
        assert services[name]["profiles"] == ["monitoring"]


# (g) Prometheus scrapes what the stack runs


def test_prometheus_targets_are_compose_services_and_their_ports(
    services: dict[str, dict[str, Any]],
) -> None:
    prometheus = services["prometheus"]
    mounts = bind_mounts(prometheus)
    config = load(ROOT / mounts["/etc/prometheus/prometheus.yml"])
    for rule_file in config["rule_files"]:
        assert rule_file in mounts, rule_file
    aliases = {
        alias
        for service in services.values()
        if isinstance(service.get("networks"), dict)
        for network in service["networks"].values()
        for alias in (network or {}).get("aliases", [])
    }

    def ports_of(host: str) -> set[int]:
        if host == "broker" or host in aliases:
            return {int(rabbitmq_conf()["prometheus.tcp.port"])}
        service = services[host]
        environment = service.get("environment", {})
        ports = {int(p) for p in service.get("expose", [])}
        if "HAVEN_METRICS_PORT" in environment:
            ports.add(int(environment["HAVEN_METRICS_PORT"]))
        if "HAVEN_OPS_BIND" in environment:
            ports.add(int(environment["HAVEN_OPS_BIND"].rsplit(":", 1)[1]))
        return ports

    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"haven-intake", "haven-router", "haven-deliver", "rabbitmq"}
    scraped = set()
    for job in jobs.values():
        for static in job.get("static_configs", []):
            for target in static["targets"]:
                host, port = target.rsplit(":", 1)
                assert int(port) in ports_of(host), target
                scraped.add(host)
        for discovery in job.get("dns_sd_configs", []):
            assert discovery["type"] == "A"
            for host in discovery["names"]:
                assert int(discovery["port"]) in ports_of(host), host
                scraped.add(host)
    assert scraped == {"intake", "worker", "deliver", "broker"}
    # Prometheus reaches them on the internal network.
    for host in ("intake", "worker", "deliver", "rabbitmq"):
        assert "backend" in services[host]["networks"]
    assert "backend" in prometheus["networks"]
    # The intake serves /metrics at the path scraped, on its operators'
    # listener and never on the public one.
    assert jobs["haven-intake"]["metrics_path"] == "/metrics"
    intake = services["intake"]
    public_port = intake["environment"]["HAVEN_BIND"].rsplit(":", 1)[1]
    ops_port = intake["environment"]["HAVEN_OPS_BIND"].rsplit(":", 1)[1]
    assert ops_port != public_port
    assert jobs["haven-intake"]["static_configs"][0]["targets"] == [f"intake:{ops_port}"]
    assert not any(port.endswith(f":{ops_port}") for port in intake["ports"])
    # The health check asks the operators' listener (the public one says 404).
    assert f"127.0.0.1:{ops_port}/readyz" in intake["healthcheck"]["test"][-1]


# (h) Three broker nodes, one cookie


def test_cluster_override_declares_three_nodes_sharing_one_cookie(
    compose: dict[str, Any], cluster: dict[str, Any]
) -> None:
    nodes = ["rabbitmq", "rabbitmq-2", "rabbitmq-3"]
    base = compose["services"]["rabbitmq"]
    hostnames = []
    for node in nodes:
        service = cluster["services"][node]
        hostnames.append(service.get("hostname", base.get("hostname")))
        image = service.get("image", base["image"])
        assert image == base["image"], node
        cookie = [
            s for s in service["secrets"] if isinstance(s, dict) and s["source"] == "erlang_cookie"
        ]
        assert cookie == [
            {"source": "erlang_cookie", "target": "/var/lib/rabbitmq/.erlang.cookie"}
        ], node
        mounts = (
            {**bind_mounts(base), **bind_mounts(service)}
            if node == "rabbitmq"
            else bind_mounts(service)
        )
        assert (
            mounts["/etc/rabbitmq/conf.d/30-cluster.conf"]
            == "./deploy/rabbitmq/rabbitmq-cluster.conf"
        )
        assert mounts["/etc/rabbitmq/conf.d/20-haven.conf"] == "./deploy/rabbitmq/rabbitmq.conf"
        assert (
            mounts["/etc/rabbitmq/definitions.d/10-haven-topology.json"]
            == "./deploy/rabbitmq/definitions.json"
        )
        networks = service.get("networks", base["networks"])
        assert "broker" in networks["backend"]["aliases"], node
    assert hostnames == nodes
    assert cluster["secrets"]["erlang_cookie"]["file"] == "./secrets/erlang.cookie"
    conf = rabbitmq_conf("rabbitmq-cluster.conf")
    assert conf["cluster_formation.peer_discovery_backend"] == "classic_config"
    listed = sorted(
        v for k, v in conf.items() if k.startswith("cluster_formation.classic_config.nodes.")
    )
    assert listed == sorted(f"rabbit@{host}" for host in nodes)
    assert conf["quorum_queue.continuous_membership_reconciliation.enabled"] == "true"
    assert conf["quorum_queue.continuous_membership_reconciliation.target_group_size"] == "3"
    # Every node gets its own data volume.
    volumes = [
        v.split(":")[0]
        for node in nodes[1:]
        for v in cluster["services"][node]["volumes"]
        if not v.startswith("./")
    ]
    assert sorted(volumes) == ["rabbitmq-2-data", "rabbitmq-3-data"]
    # Haven's services wait for all three nodes.
    for name in HAVEN_SERVICES:
        assert set(cluster["services"][name]["depends_on"]) == {"rabbitmq-2", "rabbitmq-3"}
        # ... and are given every node by name, to fail over between them.
        environment = cluster["services"][name]["environment"]
        assert environment["HAVEN_AMQP_HOST"] == ",".join(nodes), name
