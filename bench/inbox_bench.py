"""What the sealed team inbox costs a partner's laptop, as ratios to opening the same requests bare.

Not a test: it prints figures. N requests (the example desertion request,
each with its own message) are sealed to a fresh partner key. The baseline
is what any partner tool must do to read them: open each envelope and
check its content (haven.partner.opening.open_item, the pull's own code),
from memory. Against it, in the same run:

- store: writing the N requests into a team inbox (each envelope sealed
  again at rest, one synced SQLite transaction each, as a pull does);
- cold list: a member's first look after unlocking (every row read from
  disk, unsealed, every envelope opened and checked, every case folded
  from its events);
- inbox page: the web inbox's list for the N cases, first after unlock
  and then from memory (Flask's test client, no HTTP server);
- unlock: one member's passphrase at the real scrypt cost (N=2^17),
  the price of each unlock and of each guess.

Absolute times are noisy on a shared machine; compare the ratios.

    .venv/bin/python bench/inbox_bench.py [--requests 200] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from haven.envelope import Labels, PrivateKey, ScryptParams, digest, seal
from haven.partner.entry import Entry
from haven.partner.inbox import Inbox
from haven.partner.opening import open_item
from haven.partner.team import init_team, unlock
from haven.partner.web import ServeSettings, create_app

# The rounds' inboxes use a cheap wrap; the unlock figure uses the real cost.
CHEAP = ScryptParams(log2_n=10)
MEMBER, PASSPHRASE = "bench", "a bench-only passphrase"


def _envelopes(key: PrivateKey, count: int) -> list[bytes]:
    example = json.loads((resources.files("haven") / "examples" / "desertion.json").read_text())
    labels = Labels("desertion", "ru-central", "ru", "normal")
    sealed = []
    for n in range(count):
        example["fields"]["message"] = f"Запрос номер {n}: нужна помощь юриста."
        sealed.append(seal(json.dumps(example).encode(), labels, [key.public_key]))
    return sealed


def _timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def _store(root: Path, key: PrivateKey, envelopes: list[bytes]) -> None:
    init_team(root, key, MEMBER, PASSPHRASE, params=CHEAP)
    inbox = Inbox(root, unlock(root, MEMBER, PASSPHRASE))
    for envelope in envelopes:
        opened = open_item(envelope, [key])
        entry = Entry(
            digest(envelope), "2026-11-30T10:00:00Z", opened.labels, False, opened.content
        )
        inbox.store(entry, envelope, {})


def _round(key: PrivateKey, envelopes: list[bytes], figures: dict[str, list[float]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "inbox"
        figures["bare open"].append(_timed(lambda: [open_item(e, [key]) for e in envelopes]))
        figures["store"].append(_timed(lambda: _store(root, key, envelopes)))
        unlocked = unlock(root, MEMBER, PASSPHRASE)
        figures["cold list"].append(_timed(lambda: Inbox(root, unlocked).cases()))
        app = create_app(ServeSettings(inbox=root, partner_id="bench"), background=False)
        client = app.test_client()
        page = client.get("/unlock").get_data(as_text=True)
        token = page.split('name="csrf" value="', 1)[1].split('"')[0]
        client.post(
            "/unlock",
            data={"member": MEMBER, "passphrase": PASSPHRASE, "csrf": token},
            headers={"Sec-Fetch-Site": "same-origin", "Origin": "http://localhost"},
        )
        for name in ("page first", "page again"):
            figures[name].append(_timed(lambda: client.get("/")))
        # The figures are worth something only if the page listed every case.
        listed = client.get("/").get_data(as_text=True).count("data-id=")
        if listed != len(envelopes):
            raise SystemExit(f"the inbox page listed {listed} of {len(envelopes)} cases")


def _unlock_seconds(key: PrivateKey, rounds: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "inbox"
        init_team(root, key, MEMBER, PASSPHRASE)
        return statistics.median(
            _timed(lambda: unlock(root, MEMBER, PASSPHRASE)) for _ in range(rounds)
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    key = PrivateKey.generate()
    envelopes = _envelopes(key, args.requests)
    figures: dict[str, list[float]] = {
        name: [] for name in ("bare open", "store", "cold list", "page first", "page again")
    }
    for _ in range(args.rounds):
        _round(key, envelopes, figures)
    unlock_seconds = _unlock_seconds(key, args.rounds)
    base = statistics.median(figures["bare open"])
    print(f"{args.requests} requests, median of {args.rounds} rounds")
    print(f"{'':12} {'seconds':>8} {'x bare open':>12}")
    for name, values in figures.items():
        seconds = statistics.median(values)
        print(f"{name:12} {seconds:8.3f} {seconds / base:12.2f}")
    print(f"{'unlock':12} {unlock_seconds:8.3f} {unlock_seconds / base:12.2f}  (scrypt N=2^17)")


if __name__ == "__main__":
    main()
