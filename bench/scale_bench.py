"""Does throughput grow with processes? The intake with 1 and 2 workers, 1, 2 and 4 routers, against bare pika.

Not a test: it prints figures. Everything runs in one go, on each broker in
turn, each measurement in a fresh vhost of its own (benchkit.fresh_vhost):

* local:   the machine's RabbitMQ (3.10) at 127.0.0.1:5672;
* cluster: the compose stack's three RabbitMQ 4 nodes alone
           (docker-compose.yml + docker-compose.cluster.yml, services
           rabbitmq, rabbitmq-2, rabbitmq-3, in a prepared copy of this
           checkout: tests/compose/stack.py), every client on node 1; or one
           RabbitMQ 4 node with `--cluster-nodes 1`; skipped with `--no-cluster`.

On each broker:

* pika:      a bare pika publisher (SelectConnection, publisher confirms,
             `--window` publishes in flight) sending the same envelopes,
             persistent, to Haven's intake exchange and its quorum queue
             (the intake's topology and arguments): the broker's own
             confirmed-publish rate, the ceiling of any intake;
* intake xW: the real intake under gunicorn (intake.serving.gunicorn_conf,
             HAVEN_WORKERS=W, HAVEN_THREADS 16), POST /v1/requests answered
             202 (after the broker's confirm), from a load generator of
             `--clients` processes x `--threads` threads on keep-alive
             connections, sending a list of request bodies built in advance
             (the proof of work is solved at difficulty 0, HAVEN_POW_MIN_BITS
             and _MAX_BITS 0: the work is the client's cost, not the server's;
             the intake still checks every token and hash);
* router xR: R `run_router` processes draining a pre-filled haven.intake of
             N sealed envelopes into the partner queues (router_bench's
             topology, directory and envelopes); the clock starts when all R
             are released and stops when the partner queues hold N.

The generator runs on the same 2 cores as the intake and the broker: its
CPU competes with theirs, so its CPU time is printed too. Absolute rates on
a shared machine are noise: read the ratios, measured in the same run. The
CPU columns (seconds of CPU per 1000 requests, from /proc) and the
machine's idle share during the run show where the ceiling is: an idle
share near 0 means the cores are the limit, and the largest CPU column
says who used them; a high iowait means the disk.

    .venv/bin/python bench/scale_bench.py [--requests N] [--rounds R] [--no-cluster] [--cluster-nodes 3]
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pika
from benchkit import (
    Broker,
    cpu_seconds,
    descendants,
    fresh_vhost,
    local_broker,
    solve,
    submission,
)
from pika.adapters.select_connection import SelectConnection
from router_bench import BENCH_KEYS, PARTNERS, check_drained, demo_directory, prefill
from router_bench import sealed_requests as routable_requests

from haven.broker import BrokerSettings
from haven.broker.publisher import MESSAGE_TYPE
from haven.broker.topology import (
    INTAKE_EXCHANGE,
    INTAKE_QUEUE,
    INTAKE_ROUTING_KEY,
    partner_queue,
)
from haven.directory import accept_directory
from haven.envelope import Labels, NetworkKey, PrivateKey, digest, seal
from haven.store import Store, StoreSettings, migrate
from intake.guards.pow import CHALLENGE_HEADER, ProofOfWork
from schemas.directory import Directory
from tests.intake.conftest import ROUTING, NetworkFiles, running_gunicorn, signed_directory
from worker import RouterSettings, declare_routing, run_router

INTAKE_WORKERS = (1, 2)
ROUTERS = (1, 2, 4)
RUN_TIMEOUT = 300.0
TICKS = os.sysconf("SC_CLK_TCK")
CLUSTER_FILES = ("docker-compose.yml", "docker-compose.cluster.yml")
CLUSTER_NODES = ("rabbitmq", "rabbitmq-2", "rabbitmq-3")


# -- what one measurement leaves ------------------------------------------------------


@dataclass
class Figure:
    rate: float  # confirmed (or routed) per second
    # CPU seconds used during the run, by whom ("intake", "router", "client", "broker").
    cpu: dict[str, float] = field(default_factory=dict)
    idle: float = 0.0  # the machine's idle share of its cores during the run
    iowait: float = 0.0
    # CPU seconds the machine's cores were busy beyond what the groups used:
    # other work on the shared machine (and this script's own polling).
    other: float = 0.0
    count: int = 0  # requests the figures are over
    from_start: float = 0.0  # routers: the rate with their start-up counted
    written: float = 0.0  # bytes the broker's processes wrote to storage


@dataclass
class Target:
    """A broker under test: how to make vhosts, and which processes are it (for its CPU)."""

    name: str
    broker: Broker
    pids: Callable[[], list[int]]
    note: str


def machine_times() -> tuple[int, int, int]:
    """(total, idle, iowait) jiffies of all cores so far (/proc/stat)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return sum(fields[:8]), fields[3], fields[4]


def written_bytes(pids: Sequence[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/io").read_text().splitlines():
                if line.startswith("write_bytes:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


class Meter:
    """CPU of named process groups, the machine's idle and iowait, the broker's writes, over a run."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.groups: dict[str, list[int]] = {}
        self.before: dict[str, dict[int, float]] = {}

    def start(self, **groups: list[int]) -> None:
        self.groups = {"broker": self.target.pids(), **groups}
        self.before = {
            name: {pid: cpu_seconds([pid]) for pid in pids} for name, pids in self.groups.items()
        }
        self.machine = machine_times()
        self.writes = written_bytes(self.groups["broker"])
        self.clock = time.perf_counter()

    def stop(self, count: int, **extra_cpu: float) -> Figure:
        seconds = time.perf_counter() - self.clock
        total, idle, iowait = (a - b for a, b in zip(machine_times(), self.machine, strict=True))
        # A process gone by the end counts nothing (its last CPU time is unknown).
        cpu = {
            name: sum(
                max(0.0, cpu_seconds([pid]) - before)
                for pid, before in self.before[name].items()
                if Path(f"/proc/{pid}").exists()
            )
            for name in self.groups
        }
        cpu.update(extra_cpu)
        busy = (total - idle - iowait) / TICKS
        return Figure(
            count=count,
            rate=count / seconds,
            cpu=cpu,
            other=max(0.0, busy - sum(cpu.values())),
            idle=idle / max(total, 1),
            iowait=iowait / max(total, 1),
            written=written_bytes(self.groups["broker"]) - self.writes,
        )


# -- the brokers -------------------------------------------------------------------------


@contextmanager
def local_target() -> Iterator[Target]:
    # The machine's broker alone: its own Erlang VM says which process it is
    # (other beam.smp processes, a container's or a test's, are not it).
    broker = local_broker()
    pid = int(broker.run("eval", "os:getpid().").strip().strip('"'))
    version = broker.run("version").strip()
    yield Target("local", broker, lambda: descendants(pid), f"RabbitMQ {version}, this machine's")


@contextmanager
def compose_target(nodes: int) -> Iterator[Target]:
    """The compose stack's RabbitMQ 4 nodes alone (three: the cluster file too), torn down after."""
    from tests.compose.stack import Stack, free_port  # noqa: PLC0415 - only when asked for

    files = CLUSTER_FILES if nodes == 3 else CLUSTER_FILES[:1]
    services = CLUSTER_NODES[:nodes]
    project = f"haven-scale-{os.getpid()}"
    with tempfile.TemporaryDirectory(prefix="haven-scale-") as where:
        stack = Stack.prepare(Path(where), project, files, lambda line: print(line, flush=True))
        for name in ("AMQP_2", "AMQP_3", "MANAGEMENT_2", "MANAGEMENT_3"):
            stack.ports[name] = free_port()
        try:
            started = time.monotonic()
            stack.compose("up", "-d", *services)
            stack.wait_ready(dict.fromkeys(services, 1), one_shot=(), timeout=420)
            print(f"  {nodes} node(s) healthy after {time.monotonic() - started:.0f} s", flush=True)
            containers = {
                str(row["Service"]): str(row["Name"])
                for row in stack.containers()
                if row["Service"] in services
            }
            ctl = ("docker", "exec", containers["rabbitmq"], "rabbitmqctl")
            status = json.loads(
                subprocess.run(  # noqa: S603 - fixed command
                    [*ctl, "cluster_status", "--formatter", "json"],
                    capture_output=True,
                    text=True,
                    check=True,
                    timeout=120,
                ).stdout
            )
            running = status.get("running_nodes", [])
            version = subprocess.run(  # noqa: S603 - fixed command
                [*ctl, "version"], capture_output=True, text=True, check=True, timeout=120
            ).stdout.strip()
            note = (
                f"RabbitMQ {version} (compose), {len(running)} running node(s) in node 1's cluster"
            )
            if len(running) < nodes:
                note += f": NOT a {nodes}-node cluster, measured what runs"
            print(f"  {note}", flush=True)

            def pids() -> list[int]:
                found: list[int] = []
                for name in containers.values():
                    top = subprocess.run(  # noqa: S603 - fixed command
                        ["docker", "inspect", "-f", "{{.State.Pid}}", name],  # noqa: S607
                        capture_output=True,
                        text=True,
                        check=True,
                        timeout=60,
                    ).stdout.strip()
                    found += descendants(int(top))
                return found

            broker = Broker(
                ctl,
                user="haven-admin",
                password=stack.secret("rabbitmq-admin.password"),
                port=stack.ports["AMQP"],
            )
            yield Target(f"rabbitmq4 x{nodes}", broker, pids, note)
        finally:
            stack.down()


# -- bare pika: the broker's own confirmed-publish rate ----------------------------------


class ConfirmedPublish:
    """Publish every body persistently to the intake exchange, `window` in flight, until all are confirmed."""

    def __init__(self, url: str, bodies: Sequence[bytes], window: int) -> None:
        self.url, self.bodies, self.window = url, bodies, window
        self.sent = self.confirmed = self.failed = 0
        self.connection: Any = None
        self.channel: Any = None

    def run(self) -> None:
        self.connection = SelectConnection(
            pika.URLParameters(self.url),
            on_open_callback=self._on_open,
            # Closing does not end the I/O loop by itself (router_bench.Relay).
            on_close_callback=lambda connection, _reason: connection.ioloop.stop(),
        )
        try:
            self.connection.ioloop.start()
        finally:
            self.connection.ioloop.close()

    def _on_open(self, connection: Any) -> None:
        connection.channel(on_open_callback=self._on_channel)

    def _on_channel(self, channel: Any) -> None:
        self.channel = channel
        channel.add_on_return_callback(lambda *_: self._fail(1))
        channel.confirm_delivery(ack_nack_callback=self._on_confirm, callback=self._more)

    def _fail(self, count: int) -> None:
        self.failed += count

    def _more(self, _frame: Any = None) -> None:
        while (
            self.sent < len(self.bodies) and self.sent - self.confirmed - self.failed < self.window
        ):
            body = self.bodies[self.sent]
            self.channel.basic_publish(
                INTAKE_EXCHANGE,
                INTAKE_ROUTING_KEY,
                body,
                properties=pika.BasicProperties(
                    delivery_mode=pika.DeliveryMode.Persistent,
                    message_id=digest(body),
                    content_type="application/octet-stream",
                    type=MESSAGE_TYPE,
                ),
                mandatory=True,
            )
            self.sent += 1

    def _on_confirm(self, frame: Any) -> None:
        method = frame.method
        settled = method.delivery_tag - self.confirmed - self.failed if method.multiple else 1
        if isinstance(method, pika.spec.Basic.Ack):
            self.confirmed += settled
        else:
            self._fail(settled)
        if self.confirmed + self.failed >= len(self.bodies):
            self.connection.close()
        else:
            self._more()


def measure_pika(target: Target, envelopes: Sequence[bytes], window: int) -> Figure:
    with fresh_vhost(target.broker) as url:
        declare_routing(router_settings(url), frozenset(PARTNERS))
        vhost = unquote(url.rsplit("/", 1)[1])
        members = target.broker.run(
            "list_queues", "-p", vhost, "name", "members", "--formatter", "json"
        )
        for queue in json.loads(members):
            if queue["name"] == INTAKE_QUEUE:
                print(f"  {target.name}: haven.intake has {len(queue['members'])} replica(s)")
        publisher = ConfirmedPublish(url, envelopes, window)
        meter = Meter(target)
        meter.start()
        cpu = time.thread_time()
        # In this thread: its CPU is the client's.
        publisher.run()
        figure = meter.stop(publisher.confirmed, client=time.thread_time() - cpu)
        if publisher.confirmed != len(envelopes):
            raise SystemExit(f"bare pika: {publisher.failed} publishes returned or nacked")
    return figure


# -- the intake ----------------------------------------------------------------------------


@dataclass
class IntakeWorld:
    files: NetworkFiles
    bodies: list[tuple[bytes, str]]  # (JSON body, challenge token), built before any clock


def intake_world(folder: Path, count: int) -> tuple[IntakeWorld, list[bytes]]:
    """The intake's files (signed directory, keys, a migrated SQLite store) and `count` paid bodies."""
    network_key = NetworkKey.generate()
    partners = {"lawyers": PrivateKey.generate(), "evacuators": PrivateKey.generate()}
    document = signed_directory(network_key, partners)
    (folder / "directory.json").write_bytes(document)
    (folder / "network.pub").write_text(network_key.verify_key.to_text() + "\n")
    secret = os.urandom(32)
    (folder / "pow.secret").write_bytes(secret)
    accept_directory(document, network_key.verify_key, now=datetime.now(UTC), state=None)
    store_url = f"sqlite:///{folder / 'store.sqlite3'}"
    store = Store(StoreSettings(url=store_url))
    migrate(store)
    store.close()
    files = NetworkFiles(
        network_key,
        partners,
        folder / "directory.json",
        folder / "network.pub",
        folder / "pow.secret",
        store_url,
    )
    # One challenge at difficulty 0 for every body, issued with the intake's
    # own secret (a token carries any number of envelopes while it lives).
    token = ProofOfWork(secret, lifetime=3600, min_bits=0, clock=time.time).issue(0).token
    recipients = [key.public_key for key in partners.values()]
    envelopes = [
        seal(
            b'{"category": "desertion", "note": "a scale bench request"}',
            Labels(**ROUTING),
            recipients,
        )
        for _ in range(count)
    ]
    bodies = [
        (json.dumps(submission(e, token, solve(token, e, 0))).encode(), token) for e in envelopes
    ]
    return IntakeWorld(files, bodies), envelopes


def load(port: int, bodies: list[tuple[bytes, str]], threads: int, signals: Any) -> None:
    """One generator process: `threads` keep-alive clients POSTing its share of bodies.

    `signals`: (ready, go, out): it says ready, waits for go, sends its answers out.
    """
    ready, go, out = signals
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    shares = [bodies[n::threads] for n in range(threads)]

    def client(share: list[tuple[bytes, str]]) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for body, token in share:
            try:
                connection.request(
                    "POST",
                    "/v1/requests",
                    body,
                    {"Content-Type": "application/json", CHALLENGE_HEADER: token},
                )
                answer = connection.getresponse()
                answer.read()
                status = answer.status
                if answer.getheader("Connection", "").lower() == "close":
                    connection.close()
            except (OSError, http.client.HTTPException):
                connection.close()
                status = 0
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
        connection.close()

    workers = [threading.Thread(target=client, args=(share,)) for share in shares]
    # Loaded (imports, bodies unpickled) before the clock starts.
    ready.put(os.getpid())
    go.wait()
    cpu = time.process_time()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    out.put((statuses, time.process_time() - cpu))


def measure_intake(
    target: Target, world: IntakeWorld, workers: int, clients: int, threads: int
) -> Figure:
    env = {
        "HAVEN_WORKERS": str(workers),
        "HAVEN_THREADS": "16",
        "HAVEN_POW_MIN_BITS": "0",
        "HAVEN_POW_MAX_BITS": "0",
    }
    with fresh_vhost(target.broker) as url:
        declare_routing(router_settings(url), frozenset(PARTNERS))
        with running_gunicorn(world.files, url, **env) as (base, server):
            port = int(base.rsplit(":", 1)[1])
            context = multiprocessing.get_context("spawn")
            queue: Any = context.Queue()
            ready: Any = context.Queue()
            go = context.Event()
            generators = [
                context.Process(
                    target=load,
                    args=(port, world.bodies[n::clients], threads, (ready, go, queue)),
                )
                for n in range(clients)
            ]
            for generator in generators:
                generator.start()
            for _ in generators:
                ready.get(timeout=RUN_TIMEOUT)
            meter = Meter(target)
            meter.start(intake=descendants(server.pid))
            go.set()
            results = [queue.get(timeout=RUN_TIMEOUT) for _ in generators]
            statuses: dict[int, int] = {}
            for got, _ in results:
                for status, n in got.items():
                    statuses[status] = statuses.get(status, 0) + n
            figure = meter.stop(statuses.get(202, 0), client=sum(cpu for _, cpu in results))
            for generator in generators:
                generator.join(timeout=60)
    if statuses.get(202, 0) != len(world.bodies):
        raise SystemExit(f"intake x{workers}: answers {statuses}, not all 202")
    return figure


# -- the routers ---------------------------------------------------------------------------


def router_settings(url: str, prefetch: int = RouterSettings.prefetch) -> RouterSettings:
    return RouterSettings(broker=BrokerSettings(urls=(url,)), prefetch=prefetch, keys=BENCH_KEYS)


def router_process(url: str, directory: Directory, signals: Any) -> None:
    """One router: loaded and waiting, then routing from `go` until `stop`.

    `signals`: (ready, go, consuming, stop): it says ready once Haven is
    imported, starts on go, says when it consumes, stops on stop.
    """
    ready, go, consuming, stop = signals
    logging.basicConfig(level=logging.WARNING)
    ready.put(os.getpid())
    go.wait()
    run_router(
        router_settings(url),
        lambda: directory,
        stop,
        on_consuming=lambda: consuming.put(os.getpid()),
    )


def routed(channel: Any) -> int:
    return sum(
        int(channel.queue_declare(partner_queue(p), passive=True).method.message_count)
        for p in PARTNERS
    )


def measure_routers(
    target: Target, envelopes: Sequence[bytes], directory: Directory, routers: int
) -> Figure:
    with fresh_vhost(target.broker) as url:
        prefill(url, envelopes, router_settings(url))
        context = multiprocessing.get_context("spawn")
        go, stop, ready, consuming = (
            context.Event(),
            context.Event(),
            context.Queue(),
            context.Queue(),
        )
        processes = [
            context.Process(
                target=router_process, args=(url, directory, (ready, go, consuming, stop))
            )
            for _ in range(routers)
        ]
        for process in processes:
            process.start()
        for _ in processes:
            ready.get(timeout=RUN_TIMEOUT)  # each has imported Haven and waits on `go`
        # One connection for the polling, opened before the clock.
        watcher = pika.BlockingConnection(pika.URLParameters(url))
        channel = watcher.channel()
        started = time.perf_counter()
        go.set()
        deadline = time.monotonic() + RUN_TIMEOUT
        try:
            # The steady state: from the moment the last router consumes
            # (their start-up, a connection and the topology's declaration
            # each, is a one-off and left out), what is left of the intake.
            for _ in processes:
                consuming.get(timeout=RUN_TIMEOUT)
            meter = Meter(target)
            meter.start(router=[p.pid for p in processes if p.pid is not None])
            left = len(envelopes) - routed(channel)
            while routed(channel) < len(envelopes):
                if time.monotonic() > deadline or not all(p.is_alive() for p in processes):
                    raise SystemExit(f"routers x{routers}: did not route all within the run")
                time.sleep(0.05)
            figure = meter.stop(left)
            figure.from_start = len(envelopes) / (time.perf_counter() - started)
            figure.count = left
        finally:
            watcher.close()
            stop.set()
            for process in processes:
                process.join(30)
                if process.is_alive():
                    process.kill()
        check_drained(url, len(envelopes))
    return figure


# -- main ----------------------------------------------------------------------------------


def median_figure(figures: list[Figure]) -> Figure:
    """The round with the median rate (its CPU figures with it)."""
    ordered = sorted(figures, key=lambda f: f.rate)
    return ordered[(len(ordered) - 1) // 2]


def measure_target(target: Target, args: argparse.Namespace, worlds: Any) -> dict[str, Figure]:
    world, intake_envelopes, directory, router_envelopes = worlds
    runs: dict[str, Callable[[], Figure]] = {
        "bare pika publish": lambda: measure_pika(
            target, intake_envelopes * args.pika_repeat, args.window
        )
    }
    for workers in INTAKE_WORKERS:
        runs[f"intake x{workers}"] = lambda w=workers: measure_intake(
            target, world, w, args.clients, args.threads
        )
    for count in ROUTERS:
        runs[f"router x{count}"] = lambda c=count: measure_routers(
            target, router_envelopes, directory, c
        )
    results: dict[str, list[Figure]] = {name: [] for name in runs}
    for round_no in range(args.rounds):
        # Alternate the order, so a slow spell of the machine does not always hit the same one.
        order = list(runs) if round_no % 2 == 0 else list(reversed(runs))
        for name in order:
            figure = runs[name]()
            results[name].append(figure)
            line = f"  {target.name} round {round_no + 1} {name:<18} {figure.rate:7.0f}/s"
            if figure.from_start:
                line += (
                    f" with all consuming ({figure.count} left then), "
                    f"{figure.from_start:.0f}/s from start"
                )
            print(line, flush=True)
    return {name: median_figure(figures) for name, figures in results.items()}


def ceiling(figure: Figure) -> str:
    """A rough reading of what held the rate: the cores, the disk, or neither (waits)."""
    if figure.iowait >= 0.2:
        return "disk"
    if figure.idle < 0.1:
        # Whose CPU it mostly was: a 2-core machine shared with other work.
        busiest = max({**figure.cpu, "other": figure.other}.items(), key=lambda item: item[1])[0]
        return f"cores (most: {busiest})"
    return "waits (cores and disk not saturated)"


def cap(name: str, figure: Figure) -> float:
    """The rate the CPU measured per request allows on this machine's cores with no other work.

    A model, not a measurement: Haven's processes can use at most one core
    each (one GIL), the load generator (or pika publisher) likewise each, and
    everything of the run (broker, Haven, client) shares the machine's cores.
    """
    cores = os.cpu_count() or 1
    processes = int(name.rsplit("x", 1)[1]) if name[-1].isdigit() else 1
    per_request = {k: v / max(figure.count, 1) for k, v in figure.cpu.items()}
    limits = [cores / max(sum(per_request.values()), 1e-9)]
    haven = per_request.get("intake", per_request.get("router", 0.0))
    if haven:
        limits.append(min(processes, cores) / haven)
    return min(limits)


def print_table(target: Target, figures: dict[str, Figure]) -> None:
    pika_rate = figures["bare pika publish"].rate
    print(f"\n== {target.name}: {target.note}")
    print(
        f"{'configuration':<18} {'per s':>7} {'/1 proc':>8} {'/pika':>6}   "
        f"{'CPU s per 1000: broker':>22} {'haven':>6} {'client':>6} {'other':>6}  {'idle':>5} {'iowait':>6} "
        f"{'KB written/msg':>14} {'cap /s':>7}  ceiling"
    )
    for name, figure in figures.items():
        single = (
            figures["intake x1"].rate
            if name.startswith("intake")
            else figures["router x1"].rate
            if name.startswith("router")
            else pika_rate
        )
        count = max(figure.count, 1)
        per_thousand = {k: v * 1000 / count for k, v in figure.cpu.items()}
        haven = per_thousand.get("intake", per_thousand.get("router", 0.0))
        print(
            f"{name:<18} {figure.rate:7.0f} {figure.rate / single:8.2f} "
            f"{figure.rate / pika_rate:6.2f}   {per_thousand['broker']:22.2f} {haven:6.2f} "
            f"{per_thousand.get('client', 0.0):6.2f} {figure.other * 1000 / count:6.2f}  {figure.idle:5.0%} {figure.iowait:6.0%} "
            f"{figure.written / count / 1024:14.1f} {cap(name, figure):7.0f}  {ceiling(figure)}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="N per measurement")
    parser.add_argument("--rounds", type=int, default=1, help="rounds; the median is shown")
    parser.add_argument("--clients", type=int, default=2, help="load generator processes")
    parser.add_argument("--threads", type=int, default=16, help="threads per generator")
    parser.add_argument(
        "--pika-repeat",
        type=int,
        default=5,
        help="the bare publisher sends the envelopes this many times over (it is fast: a longer run)",
    )
    parser.add_argument(
        "--route-requests",
        type=int,
        default=0,
        help="envelopes the routers drain (default 3 x --requests: their start-up is left out)",
    )
    parser.add_argument("--window", type=int, default=256, help="bare pika publishes in flight")
    parser.add_argument("--no-cluster", action="store_true", help="the local broker only")
    parser.add_argument(
        "--cluster-nodes", type=int, choices=(1, 3), default=3, help="RabbitMQ 4 nodes (compose)"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    with tempfile.TemporaryDirectory(prefix="haven-scale-") as folder:
        started = time.perf_counter()
        world, intake_envelopes = intake_world(Path(folder), args.requests)
        directory = demo_directory()
        router_envelopes = routable_requests(directory, args.route_requests or 3 * args.requests)
        sizes = sorted({len(e) for e in intake_envelopes})
        print(
            f"{os.cpu_count()} cores; {args.requests} requests through the intake, "
            f"{len(router_envelopes)} through the routers, {args.requests * args.pika_repeat} "
            "bare publishes a measurement; envelopes "
            f"{sizes[0]}-{sizes[-1]} bytes, sealed and paid in {time.perf_counter() - started:.0f} s; "
            f"load generator {args.clients} processes x {args.threads} threads (on the same cores); "
            f"{args.rounds} round(s)",
            flush=True,
        )
        worlds = (world, intake_envelopes, directory, router_envelopes)
        targets: list[Callable[[], Any]] = [local_target]
        if not args.no_cluster:
            targets.append(lambda: compose_target(args.cluster_nodes))
        tables = []
        for make in targets:
            with make() as target:
                tables.append((target, measure_target(target, args, worlds)))
        for target, figures in tables:
            print_table(target, figures)
    print(
        "\n/1 proc: the rate over the same part's single process (intake x1, router x1); "
        "/pika: over the bare pika confirmed publish on the same broker. CPU s per 1000: "
        "seconds of CPU per 1000 requests of the broker's processes, of Haven's (gunicorn "
        "master and workers, or the routers), of the load generator (or the pika publisher), "
        "and the machine's other busy CPU in the same time (other engineers' work, this script); "
        "idle and iowait: shares of all cores during the run. ceiling: cores when under 10 % "
        "idle (and whose CPU was the largest), disk when iowait is 20 % or more, else waits "
        "(the confirms' latency, too few requests in flight). cap /s: what the CPU each request "
        "cost (broker, Haven, client) would allow on this machine's cores with nothing else "
        "running, each Haven process on at most one core: a model from the measured CPU, "
        "steadier than the rate on a shared machine."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
