"""Entry point for WSGI servers: `gunicorn 'intake.serving.wsgi:app_from_env()'`.

A factory rather than a module-level app: nothing is built at import, and
a bad setting or directory stops the process with one line naming it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from flask import Flask

from haven.broker import SettingsError
from haven.directory import DirectoryError
from intake.app import create_app
from intake.settings import IntakeSettings


def app_from_env(environ: Mapping[str, str] | None = None) -> Flask:
    """The intake configured from HAVEN_* variables (default: this process's), or exit 1 with a one-line reason."""
    try:
        settings = IntakeSettings.from_env(os.environ if environ is None else environ)
        app = create_app(settings)
    except SettingsError as exc:
        _stop(f"bad setting: {exc}")
    except DirectoryError as exc:
        _stop(f"refusing to serve the partner directory: {exc}")
    # No topology is declared here: `haven provision` declares it, and the
    # intake's broker user may only publish to the intake exchange. The
    # publisher checks it passively and answers 503 (and /readyz) until
    # the broker and its queues are there.
    return app


def _stop(reason: str) -> None:
    print(f"haven intake: {reason}", file=sys.stderr, flush=True)
    raise SystemExit(1)
