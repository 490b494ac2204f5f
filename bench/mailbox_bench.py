"""Mailbox fetches per second through the intake, against PostgreSQL, as a ratio to a baseline.

Not a test: it prints figures. One real intake app (Flask's test client,
no HTTP server: the figures are the endpoint and the store, not a
network) with its real store on a PostgreSQL database of its own (made
and dropped by this script, as the tests make theirs), holding N
mailboxes of k partners' messages written through POST
/v1/mailbox/messages (sealed to a reply key, signed, as partners write).
Each round fetches every mailbox once with its access secret
(docs/replies-v1.md section 4.2), then as many fetches with a wrong secret
(answered alike, by the same query).

Proof of work: the intake runs at a test difficulty (8 bits, as the
tests) and every fetch's work is solved before the clock starts, so the
figures are the endpoint and the store, not the requester's work (at the
floor difficulty a requester's device spends far longer solving than the
intake spends answering). Each solution still goes through the intake's
check, and is spent once.

Absolute figures are noisy on a shared 2-core machine, so two baselines
are measured in the same run, on the same store, interleaved with the
fetches: the intake's GET /v1/challenge, and a bare Flask endpoint doing
one SELECT of a mailbox row. The ratios are what to compare between runs.
The broker is not used by a fetch: a stand-in publisher takes its place.

    .venv/bin/python bench/mailbox_bench.py [--mailboxes 100] [--messages 10] [--rounds 5]
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import functools
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from flask import Flask, jsonify
from flask.testing import FlaskClient
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from haven.cli.intake_client import solve
from haven.envelope import NetworkKey, PrivateKey
from haven.replies import (
    PartnerMessage,
    SigningKey,
    access_hash,
    mailbox_work_target,
    write_message,
)
from haven.store import Store, migrate
from haven.store.schema import mailboxes
from intake import IntakeSettings, create_app
from intake.guards.pow import CHALLENGE_HEADER
from tests.conftest import postgres_database
from tests.intake.conftest import TEST_BITS, FakeClock, signed_directory

PARTNER = "lawyers"
# The store as the intake runs it (a connection per use: gunicorn forks it),
# then with a few pooled connections, as a router runs it, for comparison.
POOLS = ((0, "as the intake runs it (no pool)"), (2, "with 2 pooled connections"))


class IdlePublisher:
    """The broker's stand-in: a fetch publishes nothing."""

    def publish(self, envelope: bytes, *, message_id: str) -> None:
        raise AssertionError("a mailbox fetch published a message")

    def ready(self) -> bool:
        return True

    def watch(self, queues: Iterable[str]) -> None:
        pass

    def backlog(self) -> int | None:
        return 0

    def close(self) -> None:
        pass


@dataclasses.dataclass
class Mailbox:
    mailbox_id: bytes
    access_secret: bytes


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def fill(client: FlaskClient, signer: SigningKey, count: int, messages: int) -> list[Mailbox]:
    """`count` mailboxes of `messages` replies each, written as partners write them."""
    reply_key = PrivateKey.generate().public_key  # one for all: the reader is not measured
    boxes = []
    for _ in range(count):
        box = Mailbox(secrets.token_bytes(32), secrets.token_bytes(32))
        for n in range(messages):
            plain = PartnerMessage(
                kind="reply",
                partner=PARTNER,
                mailbox_id=box.mailbox_id,
                request="ab" * 32,
                state=None,
                text=f"Reply {n}: " + "текст ответа " * 40,
                sent_at="2026-11-30T08:00:00Z",
            )
            wire = write_message(plain, reply_key, signer)
            body = {
                "mailbox_id": b64(box.mailbox_id),
                "access_hash": b64(access_hash(box.access_secret)),
                "message": wire.to_json(),
            }
            answer = client.post("/v1/mailbox/messages", json=body)
            assert answer.status_code == 201, answer.get_data(as_text=True)
        boxes.append(box)
    return boxes


def paid_fetches(
    client: FlaskClient, boxes: list[Mailbox], *, wrong: bool
) -> list[dict[str, object]]:
    """One fetch body per mailbox, its work solved now (not timed)."""
    bodies = []
    for box in boxes:
        challenge = client.get("/v1/challenge").get_json()
        work = mailbox_work_target("fetch", box.mailbox_id)
        nonce = solve(challenge["token"], work, challenge["difficulty"])
        secret = secrets.token_bytes(32) if wrong else box.access_secret
        bodies.append(
            {
                "mailbox_id": b64(box.mailbox_id),
                "access_secret": b64(secret),
                "pow": {"challenge": challenge["token"], "nonce": nonce},
            }
        )
    return bodies


def per_second(action: Callable[[], int]) -> float:
    start = time.perf_counter()
    done = action()
    return done / (time.perf_counter() - start)


def repeat(action: Callable[[], object], count: int) -> int:
    for _ in range(count):
        action()
    return count


def fetch_all(client: FlaskClient, bodies: list[dict[str, object]], messages: int) -> int:
    for body in bodies:
        pow_ = body["pow"]
        assert isinstance(pow_, dict)
        answer = client.post(
            "/v1/mailbox/fetch", json=body, headers={CHALLENGE_HEADER: pow_["challenge"]}
        )
        assert answer.status_code == 200, answer.get_data(as_text=True)
        assert len(answer.get_json()["messages"]) == messages
    return len(bodies)


def bare_app(store: Store) -> Flask:
    """The baseline: Flask and one SELECT of a mailbox row on the same store, nothing else."""
    app = Flask("baseline")

    @app.post("/select")
    def one_select() -> object:
        with store.begin() as connection:
            row = connection.execute(
                select(mailboxes.c.expires_at).where(mailboxes.c.mailbox_id == bytes(32))
            ).first()
        return jsonify({"found": row is not None})

    return app


def measure(
    settings: IntakeSettings, signer: SigningKey, args: argparse.Namespace
) -> tuple[dict[str, float], float]:
    """Median rates (per second) of each figure on one store; and the seconds filling took."""
    store = Store(settings.store)
    try:
        migrate(store)
        # A frozen clock: the pre-solved challenges do not expire while they wait.
        client = create_app(
            settings, publisher=IdlePublisher(), store=store, clock=FakeClock()
        ).test_client()
        bare = bare_app(store).test_client()
        start = time.perf_counter()
        boxes = fill(client, signer, args.mailboxes, args.messages)
        filled = time.perf_counter() - start
        rates: dict[str, list[float]] = {"fetch": [], "wrong": [], "challenge": [], "select": []}
        count = len(boxes)
        for _ in range(args.rounds):
            right = paid_fetches(client, boxes, wrong=False)
            wrong = paid_fetches(client, boxes, wrong=True)
            # Interleaved, so a burst of load on the machine falls on all alike.
            timed: list[tuple[str, Callable[[], int]]] = [
                ("challenge", lambda: repeat(lambda: client.get("/v1/challenge"), count)),
                ("select", lambda: repeat(lambda: bare.post("/select"), count)),
                ("fetch", functools.partial(fetch_all, client, right, args.messages)),
                ("wrong", functools.partial(fetch_all, client, wrong, 0)),
            ]
            for what, action in timed:
                rates[what].append(per_second(action))
    finally:
        store.close()
    return {what: statistics.median(values) for what, values in rates.items()}, filled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mailboxes", type=int, default=100)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    network = NetworkKey.generate()
    partners = {PARTNER: PrivateKey.generate(), "evacuators": PrivateKey.generate()}
    signer = SigningKey.from_partner_key(partners[PARTNER])
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        (folder / "directory.json").write_bytes(signed_directory(network, partners))
        (folder / "network.pub").write_text(network.verify_key.to_text() + "\n")
        (folder / "pow.secret").write_bytes(os.urandom(32))
        for pool_size, how in POOLS:
            with postgres_database() as store_url:
                settings = IntakeSettings.from_env(
                    {
                        "HAVEN_DIRECTORY_FILE": str(folder / "directory.json"),
                        "HAVEN_NETWORK_VERIFY_KEY_FILE": str(folder / "network.pub"),
                        "HAVEN_POW_SECRET_FILE": str(folder / "pow.secret"),
                        "HAVEN_STORE_URL": store_url,
                        "HAVEN_POW_MIN_BITS": str(TEST_BITS),
                        "HAVEN_POW_MAX_BITS": "12",
                    }
                )
                # The difficulty stays at its floor however fast the bench asks (as in the tests).
                settings = dataclasses.replace(
                    settings,
                    store=dataclasses.replace(settings.store, pool_size=pool_size),
                    pow_depth_per_bit=1_000_000,
                    pow_baseline_per_minute=1_000_000,
                )
                median, filled = measure(settings, signer, args)
            print(
                f"PostgreSQL store {how}: {args.mailboxes} mailboxes of {args.messages} "
                f"messages (written in {filled:.1f} s), median of {args.rounds} rounds, "
                f"work pre-solved at {TEST_BITS} bits"
            )
            rows = [
                ("bare Flask + one SELECT (baseline)", "select"),
                ("intake GET /v1/challenge (baseline)", "challenge"),
                (f"intake fetch, right secret ({args.messages} messages)", "fetch"),
                ("intake fetch, wrong secret (no messages)", "wrong"),
            ]
            for label, what in rows:
                print(
                    f"  {label:<46} {median[what]:8.0f} /s   "
                    f"{median[what] / median['select']:5.2f}x SELECT   "
                    f"{median[what] / median['challenge']:5.2f}x challenge"
                )


if __name__ == "__main__":
    main()
