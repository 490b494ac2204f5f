"""The store's tables as SQLAlchemy Core metadata: the one description the migrations must match.

Every row says what it is kept for and until when; nothing here may hold an
address, a user agent or any part of a request.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, LargeBinary, MetaData, Table

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
