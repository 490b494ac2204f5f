"""What a flood of work solved at the current price buys, with the floor-only rule and the adaptive one.

Not a test: it prints figures. Two real intakes (gunicorn, the package's
settings, one SQLite store shared between them as replicas share
PostgreSQL) on a vhost of the real broker, with a real router taking every
request off the intake queue at once and routing it to a partner's queue.

* The flood: `--flood` processes, each sealing one envelope and sending
  byte-changed copies of it (the review's junk: every copy is a new request
  id, structurally valid), spread over both intakes, solving each at the
  difficulty its challenge asks with hashlib as fast as the machine allows.
  It keeps a challenge while it is accepted (a token may carry any number
  of envelopes) and fetches a new one when refused.
* Honest requesters: one new request a second throughout, each freshly
  sealed, solved with the same solver, sent with the web form's retries
  (a new challenge after a 403, up to twice; Retry-After after a 503).

Phase "floor only" is what the depth-only rule gave (the router keeps the
intake queue empty, so the difficulty stayed at its floor); phase
"adaptive" uses the shipped defaults (floor 16, ceiling 18, baseline 20 a
minute, a bit per 1000 waiting). After the adaptive flood stops the honest
requests go on while the difficulty falls back.

    .venv/bin/python bench/pow_flood.py [--seconds 120] [--floor-seconds 60] [--fall 70] [--flood 1]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pika
from benchkit import fresh_vhost, solve, submission

from haven.broker.topology import UNASSIGNED_QUEUE, partner_queue
from haven.directory import accept_directory
from haven.envelope import Labels, NetworkKey, PrivateKey, seal
from haven.store import Store, StoreSettings, migrate
from intake.guards.pow import CHALLENGE_HEADER
from tests.intake.conftest import (
    ROUTING,
    NetworkFiles,
    running_gunicorn,
    signed_directory,
)
from tests.worker.conftest import router_settings, running_router
from worker.run import declare_routing

POW_CONTEXT = b"haven/v1 pow\x00"
SAMPLE_SECONDS = 5
HONEST_PER_MINUTE = 60
# What the depth-only rule amounted to (the router keeps the intake queue
# empty): neither the rate nor the backlog adds a bit.
FLOOR_ONLY = {"HAVEN_POW_BASELINE_PER_MINUTE": "1000000", "HAVEN_POW_DEPTH_PER_BIT": "1000000"}
# The shipped defaults.
ADAPTIVE = {"HAVEN_POW_BASELINE_PER_MINUTE": "20", "HAVEN_POW_DEPTH_PER_BIT": "1000"}


# --- the client side: a solver and one HTTP exchange ---------------------------


def http(
    url: str, body: dict[str, Any] | None = None, token: str | None = None
) -> tuple[int, Any, int]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method="POST" if data else "GET")  # noqa: S310 - the bench's own intakes
    request.add_header("Content-Type", "application/json")
    if token is not None:
        request.add_header(CHALLENGE_HEADER, token)
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310
            return answer.status, json.loads(answer.read()), 0
    except urllib.error.HTTPError as refused:
        with refused:
            retry = int(refused.headers.get("Retry-After") or 0)
            try:
                return refused.code, json.loads(refused.read()), retry
            except ValueError:
                return refused.code, {}, retry
    except (urllib.error.URLError, OSError):
        return 0, {}, 1


# --- the flood -----------------------------------------------------------------


def flood(bases: list[str], envelope: bytes, seed: int, until: float, out: Any) -> None:
    """Junk as fast as one core allows until `until` (time.time()); sends back (accepted times, refusals)."""
    accepted: list[float] = []
    refused: dict[str, int] = {}
    tokens: dict[str, tuple[str, int] | None] = dict.fromkeys(bases)
    counter = seed << 40
    turn = 0
    while time.time() < until:
        base = bases[turn % len(bases)]
        turn += 1
        held = tokens[base]
        if held is None:
            status, challenge, _ = http(f"{base}/v1/challenge")
            if status != 200:
                time.sleep(0.2)
                continue
            held = tokens[base] = (challenge["token"], int(challenge["difficulty"]))
        token, bits = held
        counter += 1
        # The review's junk: the same envelope with its last bytes changed, a new id each time.
        junk = envelope[:-8] + counter.to_bytes(8, "big")
        status, answer, retry = http(
            f"{base}/v1/requests", submission(junk, token, solve(token, junk, bits)), token
        )
        if status == 202:
            accepted.append(time.time())
            continue
        code = (
            answer.get("error", {}).get("code", str(status))
            if isinstance(answer, dict)
            else str(status)
        )
        refused[code] = refused.get(code, 0) + 1
        if status == 403:
            tokens[base] = None  # priced higher now: a new challenge
        elif status in {0, 503}:
            time.sleep(max(retry, 1))
    out.put((accepted, refused))


# --- honest requesters ---------------------------------------------------------


@dataclass
class Honest:
    started: float
    accepted: bool = False
    seconds: float = 0.0
    pow_retries: int = 0
    difficulty: list[int] = field(default_factory=list)


def honest_one(base: str, envelope: bytes, record: Honest) -> None:
    busy = 0
    while True:
        status, challenge, retry = http(f"{base}/v1/challenge")
        if status != 200:
            if busy >= 3:
                break
            busy += 1
            time.sleep(max(retry, 1))
            continue
        token, bits = challenge["token"], int(challenge["difficulty"])
        record.difficulty.append(bits)
        status, _, retry = http(
            f"{base}/v1/requests", submission(envelope, token, solve(token, envelope, bits)), token
        )
        if status == 202:
            record.accepted = True
            break
        if status == 403 and record.pow_retries < 2:
            record.pow_retries += 1
            continue
        if status == 503 and busy < 3:
            busy += 1
            time.sleep(max(retry, 1))
            continue
        break
    record.seconds = time.time() - record.started


def honest(base: str, envelopes: list[bytes], start: float, until: float, out: Any) -> None:
    """One new honest request a second from `start` until `until`; sends back every record."""
    records: list[Honest] = []
    threads: list[threading.Thread] = []
    for n, envelope in enumerate(envelopes):
        at = start + n
        if at >= until:
            break
        time.sleep(max(0.0, at - time.time()))
        record = Honest(started=time.time())
        records.append(record)
        thread = threading.Thread(target=honest_one, args=(base, envelope, record))
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    out.put([(r.started, r.accepted, r.seconds, r.pow_retries, r.difficulty) for r in records])


# --- one phase -----------------------------------------------------------------


@dataclass
class Network:
    files: NetworkFiles
    broker_url: str
    partners: dict[str, PrivateKey]
    junk: bytes


def seal_honest(partners: dict[str, PrivateKey], count: int) -> list[bytes]:
    content = b'{"category": "desertion", "note": "an honest request"}'
    recipients = [key.public_key for key in partners.values()]
    return [seal(content, Labels(**ROUTING), recipients) for _ in range(count)]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


@dataclass
class Outcome:
    start: float
    samples: list[tuple[float, int]]  # (seconds since the start, difficulty asked)
    junk: list[float]  # when each junk request was accepted
    refused: dict[str, int]  # junk refused, by error code
    honest: list[Any]  # (started, accepted, seconds, new challenges, difficulties asked)


def run_phase(
    network: Network, env: dict[str, str], seconds: float, fall: float, flooders: int
) -> Outcome:
    """Both intakes up with `env`; the flood for `seconds`, honest requests for `seconds + fall`."""
    with (
        running_gunicorn(network.files, network.broker_url, **env) as (first, _),
        running_gunicorn(network.files, network.broker_url, **env) as (second, _),
    ):
        context = multiprocessing.get_context("spawn")
        queue: Any = context.Queue()
        start = time.time() + 2
        processes = [
            context.Process(
                target=flood, args=([first, second], network.junk, n + 1, start + seconds, queue)
            )
            for n in range(flooders)
        ]
        envelopes = seal_honest(network.partners, int(seconds + fall) + 2)
        processes.append(
            context.Process(
                target=honest, args=(first, envelopes, start, start + seconds + fall, queue)
            )
        )
        time.sleep(max(0.0, start - time.time()))
        for process in processes:
            process.start()
        samples: list[tuple[float, int]] = []
        while time.time() < start + seconds + fall + 1:
            # Asked of the second intake: the honest requests go to the
            # first, the flood to both; the rate is the deployment's.
            status, challenge, _ = http(f"{second}/v1/challenge")
            bits = int(challenge["difficulty"]) if status == 200 else -1
            samples.append((time.time() - start, bits))
            time.sleep(max(0.0, start + len(samples) * SAMPLE_SECONDS - time.time()))
        results = [queue.get(timeout=300) for _ in processes]
        for process in processes:
            process.join(timeout=60)
    outcome = Outcome(start, samples, [], {}, [])
    for result in results:
        if isinstance(result, tuple):
            outcome.junk += result[0]
            for code, count in result[1].items():
                outcome.refused[code] = outcome.refused.get(code, 0) + count
        else:
            outcome.honest = result
    purge(network)
    return outcome


def report(outcome: Outcome, floor: int, seconds: float) -> float:
    """Print the phase's figures; junk accepted a minute."""
    start, samples = outcome.start, outcome.samples
    print(" t (s)  difficulty  junk accepted in the 5 s before")
    for at, bits in samples:
        window = sum(1 for t in outcome.junk if at - SAMPLE_SECONDS < t - start <= at)
        print(f"{at:6.0f}  {bits:10d}  {window:5d}{'' if at <= seconds else '  (flood stopped)'}")
    risen = [at for at, bits in samples if bits > floor]
    top = max((bits for _, bits in samples), default=floor)
    if risen:
        at_top = min(at for at, bits in samples if bits == top)
        back = [at - seconds for at, bits in samples if at > seconds and bits == floor]
        print(
            f"difficulty first above the floor ({floor}) at {risen[0]:.0f} s, at its highest "
            f"({top}) at {at_top:.0f} s; back at the floor "
            + (f"{back[0]:.0f} s after the flood stopped" if back else "not within the run")
        )
    else:
        print(f"difficulty never rose above the floor ({floor})")
    per_minute = len(outcome.junk) / seconds * 60
    print(
        f"junk accepted: {len(outcome.junk)} in {seconds:.0f} s = {per_minute:.0f} a minute; "
        f"junk refused: {outcome.refused}"
    )
    for minute in range(int(seconds // 60)):
        count = sum(1 for t in outcome.junk if minute * 60 <= t - start < (minute + 1) * 60)
        print(f"  minute {minute + 1}: {count} junk accepted")
    for label, chosen in (
        ("during the flood", [r for r in outcome.honest if r[0] - start < seconds]),
        ("after it stopped", [r for r in outcome.honest if r[0] - start >= seconds]),
    ):
        if chosen:
            print(f"honest {label}: {honest_figures(chosen)}")
    return per_minute


def honest_figures(chosen: list[Any]) -> str:
    done = [r[2] for r in chosen if r[1]]
    asked = [bits for r in chosen for bits in r[4]]
    return (
        f"{len(done)}/{len(chosen)} accepted ({100 * len(done) / len(chosen):.1f} %), "
        f"latency p50 {statistics.median(done) if done else float('nan'):.2f} s, "
        f"p99 {percentile(done, 0.99):.2f} s, max {max(done, default=float('nan')):.2f} s; "
        f"new challenges after a 403: {sum(r[3] for r in chosen)}; "
        f"difficulty asked {min(asked, default=0)}-{max(asked, default=0)}"
    )


def purge(network: Network) -> None:
    """Empty every queue the phase filled, so the next phase starts with no backlog."""
    connection = pika.BlockingConnection(pika.URLParameters(network.broker_url))
    try:
        channel = connection.channel()
        for queue in (
            *(partner_queue(p) for p in ("lawyers", "evacuators")),
            UNASSIGNED_QUEUE,
            "haven.intake",
        ):
            channel.queue_purge(queue)
    finally:
        connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120.0, help="the adaptive flood's length")
    parser.add_argument(
        "--floor-seconds", type=float, default=60.0, help="the floor-only flood's length"
    )
    parser.add_argument(
        "--fall", type=float, default=70.0, help="honest-only time after the adaptive flood"
    )
    parser.add_argument("--flood", type=int, default=1, help="flood processes")
    args = parser.parse_args()
    network_key = NetworkKey.generate()
    partners = {"lawyers": PrivateKey.generate(), "evacuators": PrivateKey.generate()}
    with tempfile.TemporaryDirectory() as folder_name, fresh_vhost() as broker_url:
        folder = Path(folder_name)
        document = signed_directory(network_key, partners)
        (folder / "directory.json").write_bytes(document)
        (folder / "network.pub").write_text(network_key.verify_key.to_text() + "\n")
        (folder / "pow.secret").write_bytes(os.urandom(32))
        directory = accept_directory(
            document, network_key.verify_key, now=datetime.now(UTC), state=None
        )
        settings = router_settings(broker_url)
        declare_routing(settings, frozenset(p.id for p in directory.partners))
        print(f"{os.cpu_count()} cores; flood processes: {args.flood}")
        junk = seal(
            b'{"category": "desertion", "note": "junk"}',
            Labels(**ROUTING),
            [key.public_key for key in partners.values()],
        )
        per_minute = {}
        for name, seconds, fall, rule in (
            ("floor only", args.floor_seconds, 0.0, FLOOR_ONLY),
            ("adaptive", args.seconds, args.fall, ADAPTIVE),
        ):
            env = {"HAVEN_POW_MIN_BITS": "16", "HAVEN_POW_MAX_BITS": "18", **rule}
            print(f"\n== {name}: flood {seconds:.0f} s, then honest only {fall:.0f} s; {env}")
            # A store of the phase's own: both intakes of the phase share it.
            store_url = f"sqlite:///{folder / (name.replace(' ', '-') + '.sqlite3')}"
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
            network = Network(files, broker_url, partners, junk)
            with running_router(settings, directory):
                outcome = run_phase(network, env, seconds, fall, args.flood)
            per_minute[name] = report(outcome, 16, seconds)
            baseline = int(rule["HAVEN_POW_BASELINE_PER_MINUTE"])
            if baseline < HONEST_PER_MINUTE:
                print(
                    f"(the honest requests alone, {HONEST_PER_MINUTE} a minute, are "
                    f"{HONEST_PER_MINUTE / baseline:.0f} times the baseline of {baseline}: "
                    f"{(HONEST_PER_MINUTE // baseline).bit_length() - 1} bit above the floor "
                    "once the flood has left the window)"
                )
        ratio = per_minute["adaptive"] / per_minute["floor only"]
        print(
            f"\njunk accepted a minute: adaptive {per_minute['adaptive']:.0f}, "
            f"floor only {per_minute['floor only']:.0f}: {ratio:.2f} times"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
