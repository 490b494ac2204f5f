"""The router's record of consumed assignments on the deployment's store, and its migrations.

worker.main builds it; worker.consumed holds the contract it keeps.
"""

from __future__ import annotations

import logging

from haven.store import Store, StoreSchemaUnknown, StoreUnavailable, migrate

log = logging.getLogger(__name__)


def migrate_or_warn(store: Store) -> bool:
    """Migrate as the intake does at start; whether it is done (False: try again later).

    Every instance migrates, a PostgreSQL lock makes instances starting
    together take turns. Never fatal: requests from the intake are routed
    without the store; a decline or return that needs it is handed back to
    the broker until the store answers (worker.router). One line, the
    error's words only (StoreUnavailable's text is the driver error's type).
    """
    try:
        migrate(store)
    except StoreSchemaUnknown as exc:
        # A rolling upgrade: a newer intake or router migrated first. Its
        # migrations only add, so this router keeps to the tables it knows.
        log.warning("store not migrated: %s; carrying on", exc)
        return True
    except StoreUnavailable as exc:
        log.warning("store not migrated now (%s)", exc)
        return False
    return True
