"""What a no-JavaScript flood leaves honest requesters, with and without the reserved share.

Not a test: it prints figures. Ten simulated minutes (the intake's clock
seam, so the run is bounded: a few seconds of real time) against one real
intake app with its real store (a SQLite file in a temporary folder): one
client posts a fresh ticket once a second, each just old enough; a new
honest requester opens the form every minute, fills it in for 30 seconds,
sends, and on a 503 tries again once a minute with the page given back
(tests/intake/pages/test_nojs.py, Flood and Honest). The broker is not what
is measured: a publisher that counts stands in for it.

    .venv/bin/python bench/nojs_flood.py [--minutes 10]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from haven.envelope import NetworkKey, PrivateKey
from haven.store import Store, StoreSettings, migrate
from intake import IntakeSettings, create_app
from tests.intake.conftest import FakeClock, signed_directory
from tests.intake.pages.test_nojs import Honest, run_flood


class CountingPublisher:
    def __init__(self) -> None:
        self.published = 0

    def publish(self, envelope: bytes, *, message_id: str) -> None:
        self.published += 1

    def ready(self) -> bool:
        return True

    def watch(self, queues: Iterable[str]) -> None:
        pass

    def backlog(self) -> int | None:
        return 0

    def close(self) -> None:
        pass


def measure(folder: Path, minutes: int, reserved_percent: int) -> str:
    network = NetworkKey.generate()
    partners = {"lawyers": PrivateKey.generate(), "evacuators": PrivateKey.generate()}
    (folder / "directory.json").write_bytes(signed_directory(network, partners))
    (folder / "network.pub").write_text(network.verify_key.to_text() + "\n")
    (folder / "pow.secret").write_bytes(os.urandom(32))
    store_url = f"sqlite:///{folder / f'store-{reserved_percent}.sqlite3'}"
    settings = IntakeSettings.from_env(
        {
            "HAVEN_DIRECTORY_FILE": str(folder / "directory.json"),
            "HAVEN_NETWORK_VERIFY_KEY_FILE": str(folder / "network.pub"),
            "HAVEN_POW_SECRET_FILE": str(folder / "pow.secret"),
            "HAVEN_STORE_URL": store_url,
        }
    )
    settings = dataclasses.replace(settings, nojs_reserved_percent=reserved_percent)
    store = Store(StoreSettings(url=store_url))
    migrate(store)
    clock = FakeClock()
    client = create_app(
        settings, publisher=CountingPublisher(), store=store, clock=clock
    ).test_client()
    honest = Honest(client, clock)
    flood = run_flood(client, clock, minutes, honest)
    store.close()
    done = [codes for codes in honest.attempts.values() if codes and codes[-1] == 200]
    tries = sorted(len(codes) for codes in done)
    return (
        f"reserved {reserved_percent:3d}%: flood admitted {flood.admitted:3d} "
        f"of {minutes * 60 - 5}; honest requesters through {len(done)}/{len(honest.attempts)}, "
        f"tries each {tries}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for reserved in (0, 50):
            print(measure(Path(folder), args.minutes, reserved), flush=True)


if __name__ == "__main__":
    main()
