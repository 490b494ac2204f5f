"""The three-node broker of the compose stack, up for real under Docker (`make test-cluster`).

docs/operators.md, "A three-node broker", tells an operator to run
`scripts/compose-secrets --cluster` and

    docker compose -f docker-compose.yml -f docker-compose.cluster.yml up -d --build

This test does exactly that in a copy of the checkout (tests/compose/stack.py),
with two routers (`--scale worker=2`) and two intake processes
(`HAVEN_WORKERS=2`, the compose file's own variable: one container, two
gunicorn workers, each with its own broker connection). A third compose file
written here only cheapens the intake's proof of work to a fixed 8 bits
(two cores solve 2,000 of them alongside three brokers) and sets its
publish bound to 3 s; the brokers run exactly as shipped. Then, asking the
nodes themselves (`docker compose exec rabbitmq-N rabbitmqctl ...`):

* every node sees all three running in one cluster, with no partition;
* every queue of Haven's is a quorum queue with its three members online.

And the faults: while 2,000 requests flow through the published intake
port (proof of work solved for each) and the partner pulls with its own
broker user over the three published AMQP ports:

* the node holding the leader of haven.intake is killed (`docker kill`),
  then started again;
* later the node the routers are connected to (management API,
  /api/connections) is stopped (`docker compose stop`), then started.

At the end every accepted request (202) is in the partner's inbox, none is
lost, quarantined or unassigned; the intake never answered 500, every 503
had Retry-After, and no answer took longer than the publish bound allows.
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pika
import pytest
from pika.exceptions import AMQPError

from haven.broker import INTAKE_QUEUE, BrokerSettings
from haven.broker.topology import QUARANTINE_QUEUE, RETURNED_QUEUE, UNASSIGNED_QUEUE, partner_queue
from haven.directory import accept_directory, read_network_verify_key, recipient_keys
from haven.envelope import Labels, PrivateKey, seal, unwrap_private_key
from haven.partner.inbox import Inbox
from haven.partner.pull import PartnerSettings, PullError, pull
from tests.compose.stack import EXAMPLE, PARTNER, PASSPHRASE, Say, Stack
from tests.faults.stream import Stream, submit_until_accepted
from tests.team_inbox import make_team

pytestmark = pytest.mark.cluster

FILES = ("docker-compose.yml", "docker-compose.cluster.yml", "docker-compose.cluster-test.yml")
# The compose services of the three nodes, and the node names they run as.
NODES = {"rabbitmq": "rabbit@rabbitmq", "rabbitmq-2": "rabbit@rabbitmq-2", "rabbitmq-3": "rabbit@rabbitmq-3"}  # fmt: skip
SERVICE_OF = {name: service for service, name in NODES.items()}
# Each node's published AMQP and management ports (tests/compose/stack.py PUBLISHED).
AMQP_PORTS = ("AMQP", "AMQP_2", "AMQP_3")
MANAGEMENT_PORTS = ("MANAGEMENT", "MANAGEMENT_2", "MANAGEMENT_3")
ROUTERS = 2
INTAKE_WORKERS = 2
REQUESTS = 2000
CLIENTS = 4
# The intake's bound on one answer: its publish timeout, plus slack for two
# loaded cores, three brokers and Docker's port forwarding (as the fault
# test on the machine's broker, tests/faults/test_fault_injection.py).
PUBLISH_TIMEOUT = 3.0
ANSWER_BOUND = 12.0
POW_BITS = 8
TEST_OVERRIDE = f"""\
# Written by tests/compose/test_cluster.py: the intake only. A fixed, cheap
# proof of work (still asked for and checked on every request) and a short
# publish bound the test holds every answer to.
services:
  intake:
    environment:
      HAVEN_POW_MIN_BITS: "{POW_BITS}"
      HAVEN_POW_MAX_BITS: "{POW_BITS}"
      HAVEN_PUBLISH_TIMEOUT: "{PUBLISH_TIMEOUT:g}"
      HAVEN_CONNECT_TIMEOUT: "2"
      HAVEN_RETRY_AFTER: "1"
"""
# The queues a request waits in on its way to the partner's inbox.
IN_FLIGHT = (INTAKE_QUEUE, RETURNED_QUEUE, partner_queue(PARTNER), *(f"haven.retry.{n}" for n in (1, 2, 3)))  # fmt: skip


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, say: Say) -> Iterator[Stack]:
    where = tmp_path_factory.mktemp("cluster")
    project = f"haven-cluster-{secrets.token_hex(4)}"
    stack = Stack.prepare(where, project, FILES, say)
    (stack.root / FILES[2]).write_text(TEST_OVERRIDE)
    stack.env["HAVEN_WORKERS"] = str(INTAKE_WORKERS)
    say(
        f"\ncompose project {project}: docker compose -f {' -f '.join(FILES)} "
        f"up -d --build --scale worker={ROUTERS} (HAVEN_WORKERS={INTAKE_WORKERS})"
    )
    wanted = {**dict.fromkeys(NODES, 1), "postgres": 1, "intake": 1, "deliver": 1}
    with stack.up(ROUTERS, wanted):
        yield stack


# -- asking the nodes themselves ------------------------------------------------


def on_node(stack: Stack, service: str, *command: str) -> Any:
    """A rabbitmqctl-family command's JSON answer, run inside the node's own container."""
    done = stack.compose("exec", "-T", service, *command, "--formatter", "json", timeout=60)
    return json.loads(done.stdout)


def on_any_node(stack: Stack, *command: str, skip: str | None = None) -> Any:
    """The same, from the first node that answers (one may be down)."""
    failures = []
    for service in NODES:
        if service == skip:
            continue
        try:
            return on_node(stack, service, *command)
        except (AssertionError, ValueError) as failure:
            failures.append(f"{service}: {str(failure).strip()[-300:]}")
    raise AssertionError("no node answered:\n" + "\n".join(failures))


def cluster_view(stack: Stack, service: str) -> tuple[set[str], list[Any]]:
    status = on_node(stack, service, "rabbitmqctl", "cluster_status")
    return set(status.get("running_nodes", [])), status.get("partitions") or []


def queues(stack: Stack, *, skip: str | None = None) -> list[dict[str, Any]]:
    listed = on_any_node(
        stack, "rabbitmqctl", "list_queues", "name", "type", "members", "online", "leader",
        "messages", skip=skip,
    )  # fmt: skip
    return [q for q in listed if str(q["name"]).startswith("haven.")]


def whole(stack: Stack) -> tuple[bool, str]:
    """Every node sees three running, no partition; every Haven queue is quorum with 3 online members."""
    for service in NODES:
        try:
            running, partitions = cluster_view(stack, service)
        except (AssertionError, ValueError) as failure:
            return False, f"{service} does not answer: {str(failure)[-200:]}"
        if running != set(NODES.values()) or partitions:
            return False, f"{service} sees running {sorted(running)}, partitions {partitions}"
    for queue in queues(stack):
        if queue["type"] != "quorum" or sorted(queue["online"]) != sorted(NODES.values()):
            return False, f"{queue['name']}: {queue['type']}, online {queue['online']}"
    return True, ""


def wait_whole(stack: Stack, timeout: float) -> float:
    started = time.monotonic()
    while True:
        done, why = whole(stack)
        if done:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise AssertionError(f"the cluster is not whole after {timeout:.0f} s: {why}")
        time.sleep(3)


def test_three_nodes_form_one_cluster_and_every_queue_has_three_members(
    cluster: Stack, say: Say
) -> None:
    # Membership reconciliation may still be growing a queue created while
    # its node was alone: allowed a while, and said how long it took.
    took = wait_whole(cluster, timeout=180)
    for service, name in NODES.items():
        running, partitions = cluster_view(cluster, service)
        assert running == set(NODES.values())
        assert partitions == []
        say(f"  {name} (exec {service}): running {', '.join(sorted(running))}")
    listed = queues(cluster)
    names = {q["name"] for q in listed}
    # Haven's own queues, the partner's made by provision, and the demo
    # partners' from deploy/rabbitmq/definitions.json.
    assert {INTAKE_QUEUE, QUARANTINE_QUEUE, UNASSIGNED_QUEUE, RETURNED_QUEUE} <= names
    assert partner_queue(PARTNER) in names
    for queue in listed:
        assert queue["type"] == "quorum", queue
        assert sorted(queue["members"]) == sorted(NODES.values()), queue
        assert sorted(queue["online"]) == sorted(NODES.values()), queue
    leaders = Counter(str(q["leader"]) for q in listed)
    say(
        f"  {len(listed)} quorum queues, each with 3 members online (after {took:.0f} s): "
        + ", ".join(sorted(names))
    )
    say("  leaders: " + ", ".join(f"{node} {n}" for node, n in sorted(leaders.items())))
    intake = next(q for q in listed if q["name"] == INTAKE_QUEUE)
    assert intake["leader"] in NODES.values()


def test_every_node_takes_the_partner_on_its_published_loopback_port(
    cluster: Stack, say: Say
) -> None:
    # A partner's URL file lists all three nodes: each must answer on its own
    # published port, or the partner's failover has nowhere to go.
    from haven.broker.connection import connection_parameters  # noqa: PLC0415

    broker = partner_broker(cluster)
    for port, params in zip(AMQP_PORTS, connection_parameters(broker), strict=True):
        connection = pika.BlockingConnection(params)
        try:
            channel = connection.channel()
            waiting = channel.queue_declare(partner_queue(PARTNER), passive=True)
            assert waiting.method.message_count == 0
        finally:
            connection.close()
        say(f"  127.0.0.1:{cluster.ports[port]} ({port}): haven-partner-{PARTNER} connected")
    # And no node publishes anything beyond loopback.
    published = [
        (row["Service"], port)
        for row in cluster.containers()
        for port in row.get("Publishers") or []  # type: ignore[attr-defined]
        if port.get("PublishedPort")
    ]
    assert {service for service, _ in published} >= set(NODES)
    for service, port in published:
        assert port["URL"] == "127.0.0.1", (service, port)


# -- the faults ------------------------------------------------------------------


def leader_of(stack: Stack, queue: str, *, skip: str | None = None) -> str:
    for listed in queues(stack, skip=skip):
        if listed["name"] == queue:
            return str(listed["leader"])
    raise AssertionError(f"no node lists {queue}")


def routers_nodes(stack: Stack) -> Counter[str]:
    """Which node each router's connection is on, from the management API (as haven-admin)."""
    return Counter(node for user, node in management_connections(stack) if user == "haven-router")


def wait_connections(stack: Stack, timeout: float = 90) -> tuple[Counter[str], dict[str, int]]:
    """Until every intake process and router has its connection: the routers' nodes, the count per user.

    Also the proof that the stream ran through two intake processes (one
    publisher connection each) and two routers.
    """
    wanted = {"haven-intake": INTAKE_WORKERS, "haven-router": ROUTERS}
    deadline = time.monotonic() + timeout
    while True:
        listed = management_connections(stack)
        seen = dict(sorted(Counter(user for user, _ in listed).items()))
        if all(seen.get(user, 0) == n for user, n in wanted.items()):
            return Counter(node for user, node in listed if user == "haven-router"), seen
        if time.monotonic() > deadline:
            raise AssertionError(f"connections {seen}, wanted {wanted}")
        time.sleep(2)


def management_connections(stack: Stack) -> list[tuple[str, str]]:
    """(user, node) of every client connection, from the first node's management API that answers."""
    password = stack.secret("rabbitmq-admin.password")
    token = base64.b64encode(f"haven-admin:{password}".encode()).decode()
    for port in MANAGEMENT_PORTS:
        request = urllib.request.Request(f"{stack.url(port)}/api/connections")  # noqa: S310 - loopback, built here
        request.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
                listed = json.load(answer)
        except (urllib.error.URLError, OSError, ValueError):
            continue
        return [(str(c.get("user")), str(c["node"])) for c in listed]
    raise AssertionError("no node's management API answered")


def wait_running(stack: Stack, service: str, timeout: float = 180) -> float:
    """Until the node runs again and sees all three nodes running: seconds it took."""
    started = time.monotonic()
    while True:
        with contextlib.suppress(AssertionError, ValueError):
            running, _ = cluster_view(stack, service)
            if running == set(NODES.values()):
                return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise AssertionError(
                f"{service} did not rejoin in {timeout:.0f} s:\n{stack.logs(service)}"
            )
        time.sleep(2)


def wait_safe_to_stop(stack: Stack, service: str, timeout: float = 180) -> None:
    """RabbitMQ's own check: stopping this node leaves every quorum queue a majority online."""
    deadline = time.monotonic() + timeout
    while True:
        done = stack.compose(
            "exec", "-T", service, "rabbitmq-queues", "check_if_node_is_quorum_critical",
            check=False, timeout=60,
        )  # fmt: skip
        if done.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{service} stays quorum critical: {done.stdout}{done.stderr}")
        time.sleep(2)


def sealed_requests(stack: Stack, count: int) -> list[bytes]:
    """`count` envelopes sealed to the directory's partner, as a requester's device seals them."""
    network = stack.root / "network"
    directory = accept_directory(
        (network / "directory.json").read_bytes(),
        read_network_verify_key(network / "network.pub"),
        now=datetime.now(UTC),
        state=None,
    )
    recipients = recipient_keys(directory, "desertion", "ru-central")
    labels = Labels("desertion", "ru-central", "ru", "normal")
    content = EXAMPLE.read_bytes()
    return [seal(content, labels, recipients) for _ in range(count)]


def partner_broker(stack: Stack) -> BrokerSettings:
    """The partner's own broker user (its password from `haven provision`), on all three nodes."""
    password = (stack.root / "secrets" / "partners" / f"{PARTNER}.password").read_text().strip()
    user = f"haven-partner-{PARTNER}"
    return BrokerSettings(
        urls=tuple(f"amqp://{user}:{password}@127.0.0.1:{stack.ports[p]}/%2F" for p in AMQP_PORTS)
    )


def set_aside(stack: Stack, queue: str) -> dict[str | None, str]:
    """What waits in quarantine or unassigned, with its reason (read as haven-admin)."""
    password = stack.secret("rabbitmq-admin.password")
    settings = BrokerSettings(
        urls=tuple(
            f"amqp://haven-admin:{password}@127.0.0.1:{stack.ports[p]}/%2F" for p in AMQP_PORTS
        )
    )
    from haven.broker.connection import connection_parameters  # noqa: PLC0415

    found: dict[str | None, str] = {}
    connection = pika.BlockingConnection(connection_parameters(settings))
    try:
        channel = connection.channel()
        while True:
            method, properties, _ = channel.basic_get(queue, auto_ack=False)
            if method is None:
                break
            headers = properties.headers or {}
            found[properties.message_id] = str(
                headers.get("x-haven-reason") or headers.get("x-first-death-reason")
            )
    finally:
        with contextlib.suppress(AMQPError):
            connection.close()  # unacked: they stay in the queue
    return found


def test_two_thousand_requests_survive_losing_the_leader_and_the_routers_node(
    cluster: Stack, say: Say, tmp_path: Path
) -> None:
    stack = cluster
    envelopes = sealed_requests(stack, REQUESTS)
    key = PrivateKey.from_seed(
        unwrap_private_key((stack.keys / "partner.key").read_bytes(), PASSPHRASE)
    )
    inbox = Inbox(tmp_path / "inbox", make_team(tmp_path / "inbox", key))
    partner = PartnerSettings(partner_broker(stack), PARTNER)
    stream = Stream()
    stop = threading.Event()
    faults: list[str] = []
    pulls = Counter[str]()
    # The clients pause at this many accepted until the next fault is under
    # way, so each fault lands in the middle of the stream however fast it runs.
    hold = [REQUESTS * 3 // 10]

    def client(share: list[bytes]) -> None:
        for envelope in share:
            while len(stream.accepted) >= hold[0] and not stop.is_set():
                time.sleep(0.05)
            submit_until_accepted(stack.url("INTAKE"), envelope, stream, stop)

    def puller() -> None:
        # `haven partner pull`'s own code, with the partner's key and user,
        # failing over between the three published nodes.
        while not stop.is_set():
            # A pull the broker cut short keeps what it took (and reports
            # nothing): the inbox, read at the end, is the count.
            pulls["pulls"] += 1
            try:
                pulls["redelivered, dropped by the inbox"] += pull(
                    partner, [key], inbox, limit=500
                ).duplicates
            except PullError:
                pulls["cut short by a node going away"] += 1
            stop.wait(0.3)

    def when(count: int) -> None:
        while len(stream.accepted) < count and not stop.is_set():
            time.sleep(0.05)

    def inject() -> None:
        first, second = REQUESTS * 3 // 10, REQUESTS * 7 // 10
        when(first - 100)
        leader = leader_of(stack, INTAKE_QUEUE)
        when(first)
        hold[0] = second
        time.sleep(0.3)  # the clients are posting again
        done = stack.compose("kill", SERVICE_OF[leader])
        at = len(stream.accepted)
        time.sleep(5)
        elected = leader_of(stack, INTAKE_QUEUE, skip=SERVICE_OF[leader])
        stack.compose("start", SERVICE_OF[leader])
        back = wait_running(stack, SERVICE_OF[leader])
        faults.append(
            f"leader of {INTAKE_QUEUE} ({leader}) killed at {at} accepted; new leader {elected}; "
            f"back in the cluster {back + 5:.0f} s after the kill"
        )
        assert done.returncode == 0
        when(second)
        nodes, seen = wait_connections(stack)
        faults.append(f"connections before the second fault: {seen}")
        target = nodes.most_common(1)[0][0]
        wait_safe_to_stop(stack, SERVICE_OF[target])
        hold[0] = REQUESTS + 1
        time.sleep(0.3)
        at = len(stream.accepted)
        stack.compose("stop", SERVICE_OF[target], timeout=120)
        time.sleep(5)
        after = routers_nodes(stack)
        stack.compose("start", SERVICE_OF[target])
        back = wait_running(stack, SERVICE_OF[target])
        faults.append(
            f"routers' node ({target}: {dict(nodes)}) stopped at {at} accepted; routers then on "
            f"{dict(after)}; back in the cluster {back:.0f} s after its start"
        )

    injector_failed: list[BaseException] = []

    def injector() -> None:
        try:
            inject()
        except BaseException as failure:  # noqa: BLE001 - re-raised by the test, never lost in a thread
            injector_failed.append(failure)
            hold[0] = REQUESTS + 1

    threads = [
        threading.Thread(target=client, args=(envelopes[i::CLIENTS],), name=f"client-{i}")
        for i in range(CLIENTS)
    ]
    pulling = threading.Thread(target=puller, name="partner-pull")
    faulting = threading.Thread(target=injector, name="faults")
    started = time.monotonic()
    try:
        for thread in [*threads, pulling, faulting]:
            thread.start()
        faulting.join(600)
        if injector_failed:
            raise injector_failed[0]
        for thread in threads:
            thread.join(600)
        assert len(stream.accepted) == REQUESTS
        streamed = time.monotonic() - started

        def settled() -> bool:
            depths = {q["name"]: int(q["messages"]) for q in queues(stack)}
            return sum(depths.get(name, 0) for name in IN_FLIGHT) == 0

        deadline = time.monotonic() + 300
        while True:
            if settled():
                time.sleep(3)
                # Twice, apart: nothing was in flight between the two looks either.
                if settled():
                    break
            assert time.monotonic() < deadline, f"not settled: {queues(stack)}"
            time.sleep(2)
    finally:
        stop.set()
        # The injector too: on a failure it must not kill or start nodes
        # while the stack is being taken down.
        for thread in [*threads, pulling, faulting]:
            thread.join(120)

    healed = wait_whole(stack, timeout=180)
    delivered = {entry.request_id for entry in inbox.entries()}
    depths = {q["name"]: int(q["messages"]) for q in queues(stack)}
    quarantined = set_aside(stack, QUARANTINE_QUEUE) if depths[QUARANTINE_QUEUE] else {}
    unassigned = set_aside(stack, UNASSIGNED_QUEUE) if depths[UNASSIGNED_QUEUE] else {}
    lost = stream.accepted - delivered - set(quarantined) - set(unassigned)
    say("\n  " + "\n  ".join(faults))
    say(
        f"  accepted {len(stream.accepted)} in {streamed:.0f} s, delivered {len(delivered)}, "
        f"lost {len(lost)}, quarantined {depths[QUARANTINE_QUEUE]}, "
        f"unassigned {depths[UNASSIGNED_QUEUE]}, 503s {stream.statuses[503]} "
        f"({'all' if not stream.missing_retry_after else 'NOT all'} with Retry-After), "
        f"500s {stream.statuses[500]}; intake answers {dict(sorted(stream.statuses.items()))}, "
        f"slowest {stream.slowest:.1f} s (bound {ANSWER_BOUND:.0f} s); partner pulls "
        f"{dict(pulls)}; cluster whole again after {healed:.0f} s"
    )
    assert len(faults) == 3, faults
    # Neither fault is a reason to set a request aside: a person waiting
    # for evacuation would then wait on an operator instead.
    reasons = Counter([*quarantined.values(), *unassigned.values()])
    assert (depths[QUARANTINE_QUEUE], depths[UNASSIGNED_QUEUE]) == (0, 0), reasons
    assert lost == set()
    assert delivered == stream.accepted
    assert set(stream.statuses) <= {200, 202, 503}, stream.statuses
    assert stream.missing_retry_after == 0
    assert stream.slowest <= ANSWER_BOUND
