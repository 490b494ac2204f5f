"""The store's tables as SQLAlchemy Core metadata: the one description the migrations must match.

Every row says what it is kept for and until when; nothing here may hold an
address, a user agent or any part of a request.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)

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


# A requester's reply mailbox (docs/replies-v1.md section 4): its id (derived
# from the receipt code, random to anyone without it), the hash of its access
# secret (never the secret: the hash opens nothing, and finding the secret
# from it is guessing the code), and when it goes: the last message written
# to it plus the retention. Nothing names the request or the requester.
mailboxes = Table(
    "mailboxes",
    metadata,
    Column("mailbox_id", LargeBinary(32), primary_key=True),
    Column("access_hash", LargeBinary(32), nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Index("mailboxes_expires_at", "expires_at"),
)

# The partners' messages in a mailbox, as on the wire (section 3.4: the
# partner's id, the message sealed to the requester's reply key, its
# signature), oldest first by `id`. Each row expires with its mailbox (a
# write moves both); the foreign key deletes a mailbox's messages with it,
# whatever statement deletes the mailbox.
mailbox_messages = Table(
    "mailbox_messages",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column(
        "mailbox_id",
        LargeBinary(32),
        ForeignKey("mailboxes.mailbox_id", ondelete="CASCADE", name="mailbox_messages_mailbox"),
        nullable=False,
    ),
    # The message's id: SHA-256 of its sealed bytes, lowercase hex. One
    # message once per mailbox, whichever intake a partner's retry reaches.
    Column("message_id", String(64), nullable=False),
    Column("wire", LargeBinary, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    UniqueConstraint("mailbox_id", "message_id", name="mailbox_messages_once"),
    Index("mailbox_messages_expires_at", "expires_at"),
)

# A mailbox its requester deleted: SHA-256("haven/replies/v1 deleted mailbox"
# || 0x00 || mailbox_id), not the id itself, until the retention has passed,
# so that a partner writing to it later is told it is gone instead of
# making it anew. A seized marker confirms a guessed id was deleted, nothing more.
deleted_mailboxes = Table(
    "deleted_mailboxes",
    metadata,
    Column("marker_hash", LargeBinary(32), primary_key=True),
    Column("expires_at", BigInteger, nullable=False),
    Index("deleted_mailboxes_expires_at", "expires_at"),
)
