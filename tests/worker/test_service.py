"""Both worker processes share one runner: the same settings checks and the same exit codes."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest

from tests.worker.conftest import router_key_file
from worker.main import deliver_main, main
from worker.service import DIRECTORY_REFUSED, SETTINGS_FAILED

Main = Callable[[Mapping[str, str]], int]
BOTH = pytest.mark.parametrize("service", [main, deliver_main], ids=["router", "deliver"])


@pytest.fixture(autouse=True)
def _keep_signal_handlers() -> Iterator[None]:
    # The runner installs its SIGTERM/SIGINT handlers in this process.
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


def _environ(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        # Never reached: both services load the directory before connecting.
        "HAVEN_AMQP_URL": "amqp://haven:unused@127.0.0.1:1/%2F",
        "HAVEN_DIRECTORY_FILE": str(tmp_path / "absent.json"),
        "HAVEN_NETWORK_VERIFY_KEY_FILE": str(tmp_path / "absent.pub"),
        "HAVEN_WEBHOOK_SECRETS_DIR": str(tmp_path),
        "HAVEN_STORE_URL": f"sqlite:///{tmp_path / 'store.sqlite3'}",
        **router_key_file(tmp_path),
        **extra,
    }


@BOTH
def test_missing_directory_files_are_a_settings_error(
    service: Main, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    environ = _environ(tmp_path)
    del environ["HAVEN_DIRECTORY_FILE"]
    assert service(environ) == SETTINGS_FAILED == 2
    assert "HAVEN_DIRECTORY_FILE" in capsys.readouterr().err


@BOTH
def test_a_metrics_host_name_is_a_settings_error(service: Main, tmp_path: Path) -> None:
    environ = _environ(tmp_path, HAVEN_METRICS_BIND="metrics.example")
    assert service(environ) == SETTINGS_FAILED


@BOTH
def test_an_unreadable_directory_stops_the_service_before_it_connects(
    service: Main, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert service(_environ(tmp_path)) == DIRECTORY_REFUSED == 1
    assert "network verify key" in capsys.readouterr().err
