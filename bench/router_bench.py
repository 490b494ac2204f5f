"""Router throughput against a bare pika relay doing the same broker work.

Not a test: it prints figures. Both measurements run against the real
local RabbitMQ, each in a vhost of its own (created and deleted with
rabbitmqctl), with the real routing topology (quorum queues, the same
arguments as `haven.broker.topology.routing_topology`):

* router:   `run_router` in a thread, draining a pre-filled `haven.intake`
            of N distinct real sealed envelopes into the partner queues;
* baseline: a bare asynchronous pika relay (SelectConnection, the same
            prefetch, publisher confirms, many publishes in flight, each
            source acked when its own confirm arrives) moving the same N
            envelopes, with the same message properties, round robin into
            the same partner queues.

The clock starts before either opens its connection and stops when all N
publishes are confirmed (the router's `haven_router_routed_total`; the
baseline's own confirm count), so "from start" includes the router's
start-up (topology declaration, connection). "from consuming" starts at
basic.consume instead and shows the per-message cost alone. After every
run the partner queues are checked to hold exactly N and the intake none.
"µs CPU/msg" is the CPU time of the worker thread (router or relay), start
to finish, per message: steadier than msgs/s on a noisy machine, and what
the router costs beyond the bare relay.

Baseline and router alternate, `--rounds` times each. Absolute msgs/s on
a shared 2-core machine are noise (the broker and this process share the
cores, and other test runs may share the broker); read the ratio
router/baseline from the same run. Goal: >= 0.8 on the medians. Another
load on the broker only ever slows a run down, so the best round of each
is shown too: it is the least disturbed comparison.

    .venv/bin/python bench/router_bench.py [--requests N] [--rounds R] [--profile]
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import io
import logging
import pstats
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pika
from benchkit import fresh_vhost
from pika.adapters.select_connection import SelectConnection
from pika.spec import Basic

from haven.broker import BrokerSettings
from haven.broker.publisher import MESSAGE_TYPE
from haven.broker.topology import (
    INTAKE_EXCHANGE,
    INTAKE_QUEUE,
    INTAKE_ROUTING_KEY,
    PARTNER_EXCHANGE,
    partner_queue,
)
from haven.directory import empty_directory, key_entry, recipient_keys, with_partner
from haven.envelope import Labels, PrivateKey, digest, seal
from schemas.directory import Directory
from worker import RouterMetrics, RouterSettings, declare_routing, run_router
from worker.headers import RoutingState
from worker.seal import RouterKey, RouterKeys

PARTNERS = ("bench-alpha", "bench-bravo", "bench-charlie")
CATEGORY, REGION, LANGUAGE, URGENCY = "desertion", "ru-central", "ru", "normal"
DEADLINE_SECONDS = 72 * 3600
GOAL = 0.8
# The router seals every onward state: one HMAC per hop, part of its cost here.
BENCH_KEYS = RouterKeys(RouterKey.generate())
POLL_SECONDS = 0.005
RUN_TIMEOUT = 300.0


# -- the broker: a vhost per run (benchkit.fresh_vhost) -----------------------------


def depth(channel: Any, queue: str) -> int:
    return int(channel.queue_declare(queue, passive=True).method.message_count)


def prefill(url: str, envelopes: Sequence[bytes], settings: RouterSettings) -> None:
    """Declare the routing topology and fill the intake queue as the intake would."""
    declare_routing(settings, frozenset(PARTNERS))
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        for envelope in envelopes:
            channel.basic_publish(
                INTAKE_EXCHANGE,
                INTAKE_ROUTING_KEY,
                envelope,
                pika.BasicProperties(
                    delivery_mode=pika.DeliveryMode.Persistent,
                    message_id=digest(envelope),
                    content_type="application/octet-stream",
                    type=MESSAGE_TYPE,
                ),
            )
        deadline = time.monotonic() + 60
        while depth(channel, INTAKE_QUEUE) < len(envelopes):
            if time.monotonic() > deadline:
                raise SystemExit("the intake queue was not filled within 60 s")
            time.sleep(0.05)
    finally:
        connection.close()
    time.sleep(0.5)  # let the broker's writes of the fill settle before the clock starts


def check_drained(url: str, count: int) -> None:
    """Every request is in exactly one partner queue, none left in the intake."""
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        routed = sum(depth(channel, partner_queue(p)) for p in PARTNERS)
        left = depth(channel, INTAKE_QUEUE)
    finally:
        connection.close()
    if routed != count or left != 0:
        raise SystemExit(f"expected {count} in partner queues and 0 in intake: {routed}, {left}")


# -- the workload ------------------------------------------------------------------


def demo_directory() -> Directory:
    """Three partners with real keys, all serving the same labels with equal capacity."""
    now = datetime.now(UTC)
    directory = empty_directory("haven-bench", now=now)
    for partner_id in PARTNERS:
        entry = {
            "id": partner_id,
            "display_name": f"Partner {partner_id}",
            "categories": [CATEGORY],
            "regions": [REGION],
            "languages": [LANGUAGE],
            "capacity": 10,
            "delivery": {"kind": "queue"},
            "keys": [key_entry(PrivateKey.generate().public_key)],
            "response_deadline": {"normal": DEADLINE_SECONDS, "urgent": 6 * 3600},
        }
        directory = with_partner(directory, entry, now=now)
    return directory


def sealed_requests(directory: Directory, count: int) -> list[bytes]:
    """`count` distinct real envelopes, each sealed to every eligible partner."""
    recipients = recipient_keys(directory, CATEGORY, REGION)
    labels = Labels(CATEGORY, REGION, LANGUAGE, URGENCY)
    return [
        seal(f'{{"bench": {i}, "text": "нужен юрист"}}'.encode(), labels, recipients)
        for i in range(count)
    ]


# -- timing ----------------------------------------------------------------------------


@dataclass
class Timing:
    started: float = 0.0
    consuming: float = 0.0
    finished: float = 0.0
    # CPU seconds the worker thread used from its start until all were confirmed.
    cpu: float = 0.0

    def rates(self, count: int) -> tuple[float, float]:
        """msgs/s from start, and from the start of consuming."""
        return count / (self.finished - self.started), count / (self.finished - self.consuming)


def profiled(target: Callable[[], None], profile: cProfile.Profile | None) -> Callable[[], None]:
    """`target`, run under `profile` if given (cProfile sees only the thread that enables it)."""
    if profile is None:
        return target

    def run() -> None:
        profile.enable()
        try:
            target()
        finally:
            profile.disable()

    return run


def wait_for(done: Callable[[], int], count: int, thread: threading.Thread, timing: Timing) -> None:
    """Poll until `done()` reaches `count`; note that moment and the thread's CPU time."""
    assert thread.ident is not None
    clock = time.pthread_getcpuclockid(thread.ident)
    deadline = time.monotonic() + RUN_TIMEOUT
    while done() < count:
        if not thread.is_alive():
            raise SystemExit("the worker thread ended before finishing")
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out: {done()} of {count} after {RUN_TIMEOUT} s")
        time.sleep(POLL_SECONDS)
    timing.finished = time.perf_counter()
    timing.cpu = time.clock_gettime(clock)


# -- the router ------------------------------------------------------------------------


def routed_total(metrics: RouterMetrics) -> int:
    return int(sum(metrics.value("routed", category=CATEGORY, partner=p) for p in PARTNERS))


def measure_router(
    url: str,
    envelopes: Sequence[bytes],
    directory: Directory,
    prefetch: int,
    profile: cProfile.Profile | None = None,
) -> Timing:
    settings = RouterSettings(
        broker=BrokerSettings(urls=(url,)), prefetch=prefetch, keys=BENCH_KEYS
    )
    prefill(url, envelopes, settings)
    stop = threading.Event()
    metrics = RouterMetrics()
    timing = Timing()
    errors: list[BaseException] = []

    def consuming() -> None:
        timing.consuming = time.perf_counter()

    def target() -> None:
        try:
            run_router(settings, lambda: directory, stop, metrics=metrics, on_consuming=consuming)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    thread = threading.Thread(target=profiled(target, profile), name="router", daemon=True)
    timing.started = time.perf_counter()
    thread.start()
    try:
        wait_for(lambda: routed_total(metrics), len(envelopes), thread, timing)
    finally:
        stop.set()
        thread.join(30)
    if errors or thread.is_alive():
        raise SystemExit(f"the router failed or did not stop: {errors}")
    check_drained(url, len(envelopes))
    return timing


# -- the baseline ------------------------------------------------------------------------


class Relay:
    """A bare relay: consume, publish with confirms to a partner queue, ack on the confirm.

    What a competent engineer would write with pika's SelectConnection: one
    connection, a consuming and a publishing channel (as the router has),
    `prefetch` deliveries in flight, each source acked individually once
    its publish is confirmed. Confirms from several queues may come out of
    order, so the in-flight map is ordered by sequence number: a `multiple`
    confirm pops from the front, a single one by key. Publishes are
    persistent and mandatory with the properties the router writes, so the
    broker does the same work for both.
    """

    def __init__(self, url: str, prefetch: int, stop: threading.Event, timing: Timing) -> None:
        self.url = url
        self.prefetch = prefetch
        self.stop_event = stop
        self.timing = timing
        self.confirmed = 0
        self.failed = 0
        self._next_partner = 0
        self._seq = 0
        # publish sequence number -> source delivery tag, oldest first
        self._pending: collections.OrderedDict[int, int] = collections.OrderedDict()
        self._connection: Any = None
        self._consume: Any = None
        self._publish: Any = None

    def run(self) -> None:
        self._connection = SelectConnection(
            pika.URLParameters(self.url),
            on_open_callback=self._on_open,
            on_close_callback=self._on_closed,
        )
        try:
            self._connection.ioloop.start()
        finally:
            self._connection.ioloop.close()

    def _on_closed(self, connection: Any, _reason: BaseException) -> None:
        # Closing does not end the I/O loop by itself: without this the
        # thread outlived its run and every baseline round waited out the
        # 30 s join (and its profile counted that wait).
        connection.ioloop.stop()

    def _on_open(self, connection: Any) -> None:
        connection.ioloop.call_later(0.1, self._on_poll)
        connection.channel(on_open_callback=self._on_consume_channel)

    def _on_consume_channel(self, channel: Any) -> None:
        self._consume = channel
        self._connection.channel(on_open_callback=self._on_publish_channel)

    def _on_publish_channel(self, channel: Any) -> None:
        self._publish = channel
        channel.add_on_return_callback(self._on_return)
        channel.confirm_delivery(ack_nack_callback=self._on_confirm, callback=self._on_select_ok)

    def _on_select_ok(self, _frame: Any) -> None:
        self._consume.basic_qos(prefetch_count=self.prefetch, callback=self._on_qos_ok)

    def _on_qos_ok(self, _frame: Any) -> None:
        self._consume.basic_consume(INTAKE_QUEUE, on_message_callback=self._on_message)
        self.timing.consuming = time.perf_counter()

    def _on_message(
        self, _channel: Any, method: Basic.Deliver, properties: Any, body: bytes
    ) -> None:
        partner = PARTNERS[self._next_partner]
        self._next_partner = (self._next_partner + 1) % len(PARTNERS)
        onward = RoutingState(tried=(partner,), stage="partner", partner=partner)
        self._publish.basic_publish(
            PARTNER_EXCHANGE,
            partner,
            body,
            properties=pika.BasicProperties(
                delivery_mode=pika.DeliveryMode.Persistent,
                message_id=properties.message_id,
                content_type="application/octet-stream",
                type=MESSAGE_TYPE,
                headers=onward.headers(),
                expiration=str(DEADLINE_SECONDS * 1000),
            ),
            mandatory=True,
        )
        self._seq += 1
        self._pending[self._seq] = method.delivery_tag

    def _on_return(self, *_args: Any) -> None:
        self.failed += 1

    def _on_confirm(self, frame: Any) -> None:
        method = frame.method
        pending = self._pending
        if method.multiple:
            settled = []
            while pending and next(iter(pending)) <= method.delivery_tag:
                settled.append(pending.popitem(last=False)[1])
        else:
            source_tag = pending.pop(method.delivery_tag, None)
            settled = [] if source_tag is None else [source_tag]
        if isinstance(method, Basic.Ack):
            for source_tag in settled:
                self._consume.basic_ack(source_tag)
            self.confirmed += len(settled)
        else:
            self.failed += len(settled)

    def _on_poll(self) -> None:
        if self.stop_event.is_set():
            self._connection.close()
            return
        self._connection.ioloop.call_later(0.1, self._on_poll)


def measure_baseline(
    url: str,
    envelopes: Sequence[bytes],
    directory: Directory,
    prefetch: int,
    profile: cProfile.Profile | None = None,
) -> Timing:
    del directory  # the relay does no routing decision
    prefill(
        url,
        envelopes,
        RouterSettings(broker=BrokerSettings(urls=(url,)), prefetch=prefetch, keys=BENCH_KEYS),
    )
    stop = threading.Event()
    timing = Timing()
    relay = Relay(url, prefetch, stop, timing)
    thread = threading.Thread(target=profiled(relay.run, profile), name="baseline", daemon=True)
    timing.started = time.perf_counter()
    thread.start()
    try:
        wait_for(lambda: relay.confirmed, len(envelopes), thread, timing)
    finally:
        stop.set()
        thread.join(30)
    if thread.is_alive():
        raise SystemExit("the baseline did not stop")
    if relay.failed:
        raise SystemExit(f"the baseline had {relay.failed} returned or nacked publishes")
    check_drained(url, len(envelopes))
    return timing


Measure = Callable[[str, Sequence[bytes], Directory, int, cProfile.Profile | None], Timing]


# -- main ------------------------------------------------------------------------------------


def print_profile(name: str, profile: cProfile.Profile, order: str, limit: int) -> None:
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    stats.strip_dirs().sort_stats(order).print_stats(limit)
    print(f"\n-- {name} thread under cProfile, top {limit} by {order} --")
    print(out.getvalue().split("\n\n", 2)[-1].rstrip())


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--prefetch", type=int, default=RouterSettings.prefetch)
    parser.add_argument(
        "--profile",
        action="store_true",
        help="after the rounds, one more run of each under cProfile (not counted)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    directory = demo_directory()
    sealing = time.perf_counter()
    envelopes = sealed_requests(directory, args.requests)
    sealing = time.perf_counter() - sealing
    sizes = sorted({len(e) for e in envelopes})
    print(
        f"{args.requests} distinct envelopes ({sizes[0]}-{sizes[-1]} bytes, "
        f"{len(PARTNERS)} recipients) sealed in {sealing:.1f} s; prefetch {args.prefetch}"
    )

    results: dict[str, list[Timing]] = {"baseline": [], "router": []}
    measures: dict[str, Measure] = {"baseline": measure_baseline, "router": measure_router}
    for round_no in range(1, args.rounds + 1):
        turn = ("baseline", "router") if round_no % 2 else ("router", "baseline")
        for name in turn:
            with fresh_vhost() as url:
                timing = measures[name](url, envelopes, directory, args.prefetch, None)
            results[name].append(timing)
            start_rate, consume_rate = timing.rates(args.requests)
            print(
                f"  round {round_no} {name:<8} {start_rate:6.0f} msgs/s from start, "
                f"{consume_rate:6.0f} from consuming, "
                f"{timing.cpu / args.requests * 1e6:5.0f} µs CPU/msg"
            )

    def median(name: str, figure: Callable[[Timing], float]) -> float:
        return statistics.median(figure(t) for t in results[name])

    def best(name: str, figure: Callable[[Timing], float]) -> float:
        return max(figure(t) for t in results[name])

    rows: tuple[tuple[str, Callable[[Timing], float]], ...] = (
        ("msgs/s from start", lambda t: t.rates(args.requests)[0]),
        ("msgs/s from consuming", lambda t: t.rates(args.requests)[1]),
        ("µs CPU/msg (thread)", lambda t: t.cpu / args.requests * 1e6),
    )
    print(
        f"\n{'median of':<22} {'rounds':>6} {'baseline':>9} {'router':>9} {'router/baseline':>16}"
    )
    for label, figure in rows:
        base, routed = median("baseline", figure), median("router", figure)
        print(f"{label:<22} {args.rounds:>6} {base:9.0f} {routed:9.0f} {routed / base:16.2f}")
    start = rows[0][1]
    base, routed = best("baseline", start), best("router", start)
    print(
        f"{'best msgs/s from start':<22} {args.rounds:>6} {base:9.0f} {routed:9.0f} {routed / base:16.2f}"
    )
    ratio = median("router", start) / median("baseline", start)
    verdict = "met" if ratio >= GOAL else "NOT met"
    print(f"goal: router/baseline msgs/s from start >= {GOAL}: {verdict} ({ratio:.2f})")

    if args.profile:
        sortings = {"baseline": ("tottime",), "router": ("tottime", "cumulative")}
        for name, orders in sortings.items():
            profile = cProfile.Profile()
            with fresh_vhost() as url:
                measures[name](url, envelopes, directory, args.prefetch, profile)
            for order in orders:
                print_profile(name, profile, order, 30)


if __name__ == "__main__":
    main()
