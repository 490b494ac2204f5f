"""The deployment's recent acceptances: one count every intake instance adds to and reads.

Difficulty follows the rate of acceptances across the whole deployment
(gunicorn workers and replicas alike), not one process's share of it: a
flood spread over eight workers must price itself as one flood. Instances
batch their counts in memory and add a row only every few seconds
(intake.load), so the database sees a handful of writes per instance per
minute however many requests are accepted.

Every time here is the database's, never an instance's: the window is
shared, so it must have one clock. With each instance stamping its own
time, one running a minute behind would have its rows deleted by the
others as soon as it wrote them (its acceptances priced nowhere), and one
running ahead would keep its rows in everyone's window for as long as it
is ahead.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ColumnElement, Integer, cast, delete, func, insert, select

from haven.store.db import Store
from haven.store.schema import acceptances


class Acceptances:
    """Adds and sums counts of accepted submissions; raises StoreUnavailable."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def add_and_sum(self, *, accepted: int, window: int) -> int:
        """Record `accepted` now (if any), drop rows older than `window` seconds; the deployment's total within it.

        One transaction: the sum an instance reads includes what it has just added.
        """
        now = self._database_now()
        since = now - window
        with self._store.begin() as connection:
            if accepted:
                connection.execute(insert(acceptances).values(at=now, accepted=accepted))
            # Kept no longer than the window they are counted in.
            connection.execute(delete(acceptances).where(acceptances.c.at < since))
            total = connection.execute(
                select(func.coalesce(func.sum(acceptances.c.accepted), 0)).where(
                    acceptances.c.at >= since
                )
            ).scalar_one()
        return int(total)

    def _database_now(self) -> ColumnElement[int]:
        """The database's time in whole seconds since the epoch, as SQL evaluated there."""
        if self._store.settings.is_sqlite:
            # strftime('%s'), not unixepoch(): the latter needs SQLite 3.38.
            return cast(func.strftime("%s", "now"), Integer)
        # now(): the transaction's start, one instant for the insert, the delete and the sum.
        return cast(func.floor(func.extract("epoch", func.now())), BigInteger)
