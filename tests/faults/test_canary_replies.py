"""Canary for the two-way channel: a reply and a follow-up are read only where they are meant to be.

A requester sends a request answered through Haven with `haven submit`
through the real intake, a router process gives it to a partner, whose
`haven partner pull` posts the automatic "received"; the partner answers
with `haven partner reply`, its text carrying a random marker; the
requester reads the thread with `haven status` and answers with `haven
follow-up`, its text carrying a second marker. Then the intake's store on
disk (PostgreSQL's whole data directory and its log, or the SQLite file
with its -wal and -shm), the broker's data directory and RabbitMQ's log,
the intake's and the router's logs, the partner commands' output and every
metric exposition are searched: neither marker (nor its base64), no word
of the receipt code, and neither the mailbox id nor the access secret in
hex or base64 is in any of them. The mailbox id and the access secret are
looked for raw too, except the mailbox id in the store, which keeps it
(docs/replies-v1.md section 6); the store keeps no access secret, only its
hash.

Positive controls keep the search honest: the reply marker is printed by
`haven status` and the follow-up marker is in the partner's inbox (both
travelled, sealed); the mailbox id and the sealed message are found in the
store's files, and the sealed follow-up in the broker's data directory (the
search reads where the data really is).
"""

from __future__ import annotations

import base64
import itertools
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from pika.adapters.blocking_connection import BlockingChannel

from haven.broker.topology import partner_queue
from haven.replies import derive, parse
from tests.conftest import POSTGRES_HOST, POSTGRES_PORT, STORE_BACKENDS, postgres_database
from tests.faults.test_canary import _broker_files, _fetch, _found_in, _free_port
from tests.haven.cli.test_two_way import Requester, pull, reply, reply_request
from tests.haven.partner.conftest import (  # noqa: F401 - fixtures shared with the partner tests
    Network,
    Result,
    channel,
    depth,
    make_network,
    partner_private_keys,
    wait_until,
)

pytestmark = pytest.mark.broker

PARTNERS = ("alpha", "bravo")


@pytest.fixture(params=STORE_BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The intake's store: a PostgreSQL database of this test's own, or a SQLite file."""
    if request.param == "postgresql":
        with postgres_database() as url:
            yield url
    else:
        yield f"sqlite:///{tmp_path / 'store' / 'store.sqlite3'}"


def base64_forms(data: bytes) -> list[bytes]:
    """What `data` looks like inside any base64 text: its encoding at each of the three
    alignments, less the characters it shares with its neighbours (standard and URL-safe)."""
    forms = []
    for shift in range(3):
        encoded = base64.b64encode(bytes(shift) + data)
        # The leading characters mix in the zero bytes, the trailing ones what follows.
        start = (shift * 8 + 5) // 6
        end = (shift + len(data)) * 8 // 6
        inner = encoded[start:end]
        forms += [inner, inner.translate(bytes.maketrans(b"+/", b"-_"))]
    return forms


def postgres_files(store_url: str) -> list[Path]:
    """PostgreSQL's whole data directory, flushed to disk first, and its log files."""
    with psycopg.connect(
        host=POSTGRES_HOST, port=POSTGRES_PORT, user="postgres", dbname="postgres", autocommit=True
    ) as connection:
        # Written pages reach the table files too, not only the write-ahead log.
        connection.execute("CHECKPOINT")
        row = connection.execute("SHOW data_directory").fetchone()
    assert row is not None
    data_dir = Path(row[0])
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    files += [p for p in Path("/var/log/postgresql").glob("*") if p.is_file()]
    assert any(p.parent.name == "pg_wal" for p in files), data_dir
    return files


def sqlite_files(store_url: str) -> list[Path]:
    database = Path(store_url.removeprefix("sqlite:///"))
    files = [p for p in database.parent.glob(database.name + "*") if p.is_file()]
    assert database in files, files
    return files


def stored_wire(store_url: str) -> list[bytes]:
    """The wire messages as the store holds them, read from its own database."""
    if store_url.startswith("sqlite"):
        import sqlite3  # noqa: PLC0415 - only the SQLite variant reads this way

        with sqlite3.connect(store_url.removeprefix("sqlite:///")) as connection:
            rows = connection.execute("SELECT wire FROM mailbox_messages").fetchall()
        connection.close()
    else:
        with psycopg.connect(store_url) as connection:
            rows = connection.execute("SELECT wire FROM mailbox_messages").fetchall()
    return [bytes(row[0]) for row in rows]


def sealed_pieces(wire: bytes) -> list[bytes]:
    """Stretches of a stored message's sealed bytes (its base64), spread over the message."""
    sealed = json.loads(wire)["sealed"].encode()
    return [sealed[i : i + 40] for i in range(100, len(sealed) - 40, 997)]


def test_reply_and_follow_up_are_nowhere_but_with_their_readers(
    make_network: Callable[..., Network],  # noqa: F811 - the fixture
    channel: BlockingChannel,  # noqa: F811 - the fixture
    store_url: str,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    reply_marker = f"HAVEN-REPLY-CANARY-{secrets.token_hex(8)}"
    follow_up_marker = f"HAVEN-FOLLOW-UP-CANARY-{secrets.token_hex(8)}"
    if store_url.startswith("sqlite"):
        Path(store_url.removeprefix("sqlite:///")).parent.mkdir()
    network = make_network(intake_env={"HAVEN_STORE_URL": store_url})
    requester = Requester(network)
    metrics_port = _free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        **network.env,
        "HAVEN_RETRY_DELAYS": "1,1",
        "HAVEN_METRICS_PORT": str(metrics_port),
    }
    router_log = network.root / "router.log"
    with router_log.open("wb") as log:
        router = subprocess.Popen([sys.executable, "-m", "worker.main"], env=env, stderr=log)
    partner_output: list[Result] = []
    try:
        sent = network.haven(
            "submit", reply_request(network.root), "--url", network.intake_url,
            "--network-key", network.verify_key_file, "--region", "ru-central",
            "--language", "ru", "--code-file", requester.code_file,
        )  # fmt: skip
        assert sent.code == 0, sent.err
        request_id = sent.out.splitlines()[0].removeprefix("queued: ")
        wait_until(
            lambda: sum(depth(channel, partner_queue(p)) for p in PARTNERS) == 1,
            timeout=60,
            what="the request routed",
        )
        [partner] = [p for p in PARTNERS if depth(channel, partner_queue(p)) == 1]
        partner_output.append(pull(network, partner))  # posts "received"
        assert partner_output[-1].code == 0, partner_output[-1].err

        text_file = network.root / "reply.txt"
        text_file.write_text(f"Мы можем помочь. {reply_marker}\nОтветьте, пожалуйста.")
        partner_output.append(reply(network, partner, request_id, text_file))
        assert partner_output[-1].code == 0, partner_output[-1].err
        shown = requester.run("status")
        assert shown.code == 0, shown.err
        # Positive control: the reply travelled, sealed, to the requester's screen.
        assert reply_marker in shown.out

        answer = network.root / "answer.txt"
        answer.write_text(f"Я в Казахстане. {follow_up_marker}\n")
        followed = requester.run("follow-up", "--text-file", answer)
        assert followed.code == 0, followed.err
        wait_until(
            lambda: depth(channel, partner_queue(partner)) == 1,
            timeout=60,
            what="the follow-up routed",
        )
        # While the follow-up waits in the partner's queue: the broker's store on disk,
        # with the sealed follow-up itself (looked at, and put back) as the control.
        method, _, held = channel.basic_get(partner_queue(partner), auto_ack=False)
        assert method is not None
        channel.basic_nack(method.delivery_tag, requeue=True)
        broker_files = _broker_files(network.root)
        exposed = [
            _fetch(f"{network.ops_url}/metrics", {}),
            _fetch(f"http://127.0.0.1:{metrics_port}/metrics", {}),
        ]
    finally:
        router.send_signal(signal.SIGTERM)
        router.wait(30)
    partner_output.append(pull(network, partner))
    assert partner_output[-1].code == 0, partner_output[-1].err
    # Positive control: the follow-up reached the partner's inbox, readable there.
    inbox_text = "".join(
        json.dumps(dict(entry.content), ensure_ascii=False)
        for entry in network.open_inbox(partner).entries()
    )
    assert follow_up_marker in inbox_text

    code = requester.code_file.read_text(encoding="utf-8").strip()
    words = code.split(" ")
    assert len(words) == 9
    keys = derive(parse(code))
    secret_texts = [reply_marker.encode(), follow_up_marker.encode()]
    for value in (keys.mailbox_id, keys.access_secret):
        secret_texts += [value.hex().encode(), value.hex().upper().encode()]
        secret_texts += base64_forms(value)
    for marker in (reply_marker, follow_up_marker):
        secret_texts += base64_forms(marker.encode())
    # The code, each pair of neighbouring words, and each word (Cyrillic: 8 bytes or more).
    secret_texts += [code.encode()] + [f"{a} {b}".encode() for a, b in itertools.pairwise(words)]
    secret_texts += [word.encode() for word in words]
    assert all(len(word.encode()) >= 8 for word in words), (
        "a ru code, whose words are unlikely by chance"
    )
    needles = [*secret_texts, keys.mailbox_id, keys.access_secret]

    # The store: everything but the mailbox id, which is its key.
    store_files = (
        sqlite_files(store_url) if store_url.startswith("sqlite") else postgres_files(store_url)
    )
    wires = stored_wire(store_url)
    assert len(wires) == 2  # the automatic "received" and the reply
    control = _found_in(store_files, [keys.mailbox_id])
    assert control, "the mailbox id is not in the store's files: the search read the wrong place"
    assert any(_found_in(store_files, sealed_pieces(wire)) for wire in wires), (
        "no stored sealed message was found in the store's files: the search read the wrong place"
    )
    assert _found_in(store_files, [*secret_texts, keys.access_secret]) == []

    assert _found_in(broker_files, [held[200:240]]), (
        "the sealed follow-up is not on the broker's disk: the search read the wrong place"
    )
    assert _found_in(broker_files, needles) == []

    logs = {
        "router log": router_log.read_bytes(),
        "intake log": "\n".join(record.getMessage() for record in caplog.records).encode(),
    }
    for number, result in enumerate(partner_output):
        logs[f"partner command {number}"] = (result.out + result.err).encode()
    for number, page in enumerate(exposed):
        logs[f"metrics page {number}"] = page
    found = [f"{name}: {n!r}" for name, text in logs.items() for n in needles if n in text]
    assert found == []
    with capsys.disabled():
        print(
            f"\ncanary (replies, {store_url.split(':', maxsplit=1)[0]} store): {len(needles)} needles; searched "
            f"{len(store_files)} store files, {len(broker_files)} broker files, "
            f"{len(logs)} logs and metric pages: found nowhere"
        )
