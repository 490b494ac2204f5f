"""`haven store migrate`: bring the deployment's database to the newest schema."""

from __future__ import annotations

import argparse

from haven.cli.common import CliError, Commands
from haven.store import Store, StoreSettings, StoreSettingsError, StoreUnavailable, migrate


def register(commands: Commands) -> None:
    store = commands.add_parser(
        "store",
        help="the deployment's database (HAVEN_STORE_URL)",
        description="The database every intake and router of a deployment shares "
        "(docs/operators.md, 'The store').",
    )
    actions = store.add_subparsers(dest="action", required=True, metavar="ACTION")
    run = actions.add_parser(
        "migrate",
        help="apply the store's migrations (the intake also does at start)",
        description="Apply every migration not yet applied to HAVEN_STORE_URL; safe to run twice.",
    )
    run.set_defaults(handler=run_migrate)


def run_migrate(args: argparse.Namespace) -> int:
    try:
        store = Store(StoreSettings.from_env(args.environ))
    except StoreSettingsError as exc:
        raise CliError(str(exc)) from None
    try:
        migrate(store)
    except StoreUnavailable as exc:
        raise CliError(f"the store is not reachable or refused the migration ({exc})") from None
    finally:
        store.close()
    print("store migrated")
    return 0
