"""The store's tables as SQLAlchemy Core metadata: the one description the migrations must match.

Every row says what it is kept for and until when; nothing here may hold an
address, a user agent or any part of a request.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, LargeBinary, MetaData, Table

metadata = MetaData()

# A no-JavaScript ticket that was used once (intake.guards.nojs): SHA-256 of
# its random id, never the ticket itself, and when the row may go (the
# ticket's own expiry: past it the ticket is refused as too old anyway).
used_tickets = Table(
    "used_tickets",
    metadata,
    Column("ticket_hash", LargeBinary(32), primary_key=True),
    Column("expires_at", BigInteger, nullable=False),
    Index("used_tickets_expires_at", "expires_at"),
)

# A routing-state assignment that was used up (worker.consumed): SHA-256 of
# its sealed nonce, never the nonce itself, and when the row may go (its
# consumption plus the retention, well past the longest partner deadline:
# worker.settings), and whether the router that consumed it has handed the
# request on (settled: a redelivery of it is then a replay, never a
# router's unfinished work). A row says only that some assignment was answered.
consumed_assignments = Table(
    "consumed_assignments",
    metadata,
    Column("nonce_hash", LargeBinary(32), primary_key=True),
    Column("expires_at", BigInteger, nullable=False),
    Column("settled", Boolean, nullable=False),
    Index("consumed_assignments_expires_at", "expires_at"),
)


# How many submissions the deployment accepted (intake.load): each intake
# instance adds one row per few seconds in which it accepted any, with the
# count and the second it was added. Rows go once they leave the rate window (a couple of minutes): a
# seized database shows how busy the intake was lately, nothing about whom.
acceptances = Table(
    "acceptances",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("at", BigInteger, nullable=False),
    Column("accepted", Integer, nullable=False),
    Index("acceptances_at", "at"),
)
