"""The intake in several gunicorn worker processes: how many, and one set of metrics across them.

gunicorn_conf reads HAVEN_WORKERS with `worker_count`. Under gunicorn the
metrics are always in prometheus-client's multiprocess mode, whatever the
number of workers: each process writes its values to files of its own in a
directory made for this server alone, and /metrics, whichever worker
answers it, adds them up (intake.metrics). One code path for one worker and
for many, and counters that keep counting when gunicorn replaces a worker
(a timeout, a crash), instead of starting again from zero.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from prometheus_client import multiprocess, values

WORKERS_SETTING = "HAVEN_WORKERS"
DEFAULT_WORKERS = 1
# Each worker holds its own broker connection and store connections: a
# bound keeps a typo (1000) from opening a connection storm on the broker.
MAX_WORKERS = 64

# prometheus-client's own variable: it opens each process's files there.
MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
_PREFIX = "haven-intake-metrics-"


def worker_count(environ: Mapping[str, str]) -> int:
    """HAVEN_WORKERS (default 1), or exit with one line naming it."""
    raw = environ.get(WORKERS_SETTING, "").strip() or str(DEFAULT_WORKERS)
    try:
        count = int(raw, 10)
    except ValueError:
        count = 0
    if not 1 <= count <= MAX_WORKERS:
        raise SystemExit(
            f"haven intake: {WORKERS_SETTING} must be a whole number between 1 and {MAX_WORKERS}"
        )
    return count


def share_metrics() -> Path:
    """Make every metric created from now on in this process and its forks write to a fresh private directory.

    Called in gunicorn's master before the app (and its metrics) is built,
    so every worker forked from it counts into the same directory. Empty by
    construction, so no count of an earlier server, or of anyone else, is
    ever added in (mkdtemp: a new name, mode 0700). Under /tmp by default
    (TMPDIR), a tmpfs in the compose stack: the container is read-only
    elsewhere.
    """
    directory = Path(tempfile.mkdtemp(prefix=_PREFIX))
    # The library opens each process's files under this variable's value.
    # Set here, over any value inherited: a directory shared with another
    # server would add its counts to ours.
    os.environ[MULTIPROC_DIR] = str(directory)
    # prometheus-client picks file-backed values from the variable when it is
    # first imported, which is before this runs (gunicorn imports the intake
    # package to read its settings); metrics read this class when they are
    # created, so every one made after this line is file-backed.
    values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]
    # However this process ends: gunicorn stopping on a taken port after the
    # app was built never calls on_exit. Only in this process: a worker
    # leaving through the same interpreter teardown must not take the
    # directory from the master and the other workers still counting in it.
    atexit.register(_remove_from, os.getpid())
    return directory


def _remove_from(master: int) -> None:
    if os.getpid() == master:
        remove_shared_metrics()


def forget_worker(pid: int) -> None:
    """A worker is gone: drop its live gauges from the sum; its counters stay counted."""
    directory = os.environ.get(MULTIPROC_DIR)
    if directory:
        multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]


def remove_shared_metrics() -> None:
    """The server stops: the directory share_metrics made goes with it (a tmpfs forgets it anyway)."""
    directory = os.environ.get(MULTIPROC_DIR)
    # Only one this module made: never a directory someone else named.
    if directory and Path(directory).name.startswith(_PREFIX):
        shutil.rmtree(directory, ignore_errors=True)
