"""The deployment's recent acceptances: one count every intake instance adds to and reads.

Difficulty follows the rate of acceptances across the whole deployment
(gunicorn workers and replicas alike), not one process's share of it: a
flood spread over eight workers must price itself as one flood. Instances
batch their counts in memory and add a row only every few seconds
(intake.load), so the database sees a handful of writes per instance per
minute however many requests are accepted.
"""

from __future__ import annotations

from sqlalchemy import delete, func, insert, select

from haven.store.db import Store
from haven.store.schema import acceptances


class Acceptances:
    """Adds and sums counts of accepted submissions; raises StoreUnavailable."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def add_and_sum(self, *, at: int, accepted: int, since: int) -> int:
        """Record `accepted` at `at` (if any), drop rows older than `since`; the deployment's total since then.

        One transaction: the sum an instance reads includes what it has just added.
        """
        with self._store.begin() as connection:
            if accepted:
                connection.execute(insert(acceptances).values(at=at, accepted=accepted))
            # Kept no longer than the window they are counted in.
            connection.execute(delete(acceptances).where(acceptances.c.at < since))
            total = connection.execute(
                select(func.coalesce(func.sum(acceptances.c.accepted), 0)).where(
                    acceptances.c.at >= since
                )
            ).scalar_one()
        return int(total)
