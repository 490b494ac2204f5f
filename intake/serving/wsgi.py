"""Entry points for WSGI servers: `app_for_workers()` for gunicorn (intake.serving.gunicorn_conf), `app_from_env()` for one process.

Factories rather than a module-level app: nothing is built at import, and
a bad setting or directory stops the process with one line naming it.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from flask import Flask

from haven.broker import SettingsError
from haven.directory import DirectoryError
from haven.site import SiteError
from haven.store import Store, StoreUnavailable, migrate
from intake.app import create_app
from intake.serving.processes import remove_shared_metrics, share_metrics
from intake.settings import IntakeSettings

log = logging.getLogger(__name__)


def app_for_workers() -> Flask:
    """app_from_env(), its metrics shared by every worker gunicorn forks from this process (intake.serving.processes)."""
    # Before the app: its metrics must be file-backed from their creation.
    shared = share_metrics()
    try:
        return app_from_env(shared_metrics=shared)
    except BaseException:
        remove_shared_metrics()  # gunicorn stops; nothing else would remove it
        raise


def app_from_env(
    environ: Mapping[str, str] | None = None, *, shared_metrics: Path | None = None
) -> Flask:
    """The intake configured from HAVEN_* variables (default: this process's), or exit 1 with a one-line reason."""
    try:
        settings = IntakeSettings.from_env(os.environ if environ is None else environ)
        store = Store(settings.store)
        app = create_app(settings, store=store, shared_metrics=shared_metrics)
    except SettingsError as exc:
        _stop(f"bad setting: {exc}")
    except DirectoryError as exc:
        _stop(f"refusing to serve the partner directory: {exc}")
    except SiteError as exc:
        _stop(f"refusing to serve the site manifest: {exc}")
    # No topology is declared here: `haven provision` declares it, and the
    # intake's broker user may only publish to the intake exchange. The
    # publisher checks it passively and answers 503 (and /readyz) until
    # the broker and its queues are there.
    try:
        # Before gunicorn forks (preload_app): one migration per instance,
        # and a PostgreSQL lock makes instances starting together take turns.
        migrate(store)
    except StoreUnavailable as exc:
        # Not fatal: the JavaScript path needs no store; the
        # no-JavaScript send answers 503 and /readyz says why until it is back.
        log.warning("store not migrated now: %s", exc)
    finally:
        store.close()  # the workers open their own connections after the fork
    return app


def _stop(reason: str) -> None:
    print(f"haven intake: {reason}", file=sys.stderr, flush=True)
    raise SystemExit(1)
