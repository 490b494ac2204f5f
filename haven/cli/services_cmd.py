"""`haven intake` and `haven router`: Haven's two services, from the one command."""

from __future__ import annotations

import argparse

from haven.cli.common import Commands
from intake.serving.serve import main as intake_main
from worker.main import main as router_main


def register(commands: Commands) -> None:
    intake = commands.add_parser(
        "intake",
        help="serve the intake locally (production: gunicorn -c python:intake.serving.gunicorn_conf)",
        description="Serve the intake on this machine for development and the demo. Settings come from "
        "HAVEN_* variables (docs/intake-api.md).",
    )
    intake.add_argument("--host", default="127.0.0.1")
    intake.add_argument("--port", type=int, default=8080)
    intake.set_defaults(handler=run_intake)
    router = commands.add_parser(
        "router",
        help="run one router until SIGTERM",
        description="Route requests from the intake queue to partners. Settings come from HAVEN_* "
        "variables (docs/routing.md).",
    )
    router.set_defaults(handler=run_router)


def run_intake(args: argparse.Namespace) -> int:
    intake_main(["--host", args.host, "--port", str(args.port)], args.environ)
    return 0


def run_router(args: argparse.Namespace) -> int:
    return router_main(args.environ)
