"""The router's record of consumed assignments on the deployment's store, and its migrations.

worker.main builds it; worker.consumed holds the contract it keeps. A
router whose store was away at start (or not yet migrated) tries the
migrations again when the store next fails it, at most once a minute.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from haven.store import (
    Consumption,
    Store,
    StoreConsumedAssignments,
    StoreSchemaUnknown,
    StoreUnavailable,
    migrate,
)

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


# At most one migration attempt a minute: a store that is still away costs
# each decline one failed connection, not one per migration step as well.
MIGRATE_EVERY = 60.0


class MigratingRecord:
    """`StoreConsumedAssignments` that migrates the store first if start could not.

    `migrated` is what `migrate_or_warn` answered at start. While it is
    False, a consume or settle that meets StoreUnavailable tries the
    migrations (at most every `every` seconds on `clock`) and, once they
    are done, tries again; otherwise the error goes to the router, which
    hands the delivery back (worker.router).
    """

    def __init__(
        self,
        store: Store,
        record: StoreConsumedAssignments,
        *,
        migrated: bool,
        clock: Callable[[], float],
        every: float = MIGRATE_EVERY,
    ) -> None:
        self._store = store
        self._record = record
        self._migrated = migrated
        self._clock = clock
        self._every = every
        self._lock = threading.Lock()
        self._last_try = float("-inf")

    def consume(self, nonce: bytes) -> Consumption:
        try:
            return self._record.consume(nonce)
        except StoreUnavailable:
            if not self._migrate_now():
                raise
        return self._record.consume(nonce)

    def settle(self, nonce: bytes) -> None:
        self._record.settle(nonce)

    def _migrate_now(self) -> bool:
        """Whether the migrations were just applied (so the failed call is worth trying again)."""
        with self._lock:
            now = self._clock()
            if self._migrated or now - self._last_try < self._every:
                return False
            self._last_try = now
        if not migrate_or_warn(self._store):
            return False
        with self._lock:
            self._migrated = True
        log.info("store migrated")
        return True
