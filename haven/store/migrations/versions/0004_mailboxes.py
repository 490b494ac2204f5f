"""The requesters' reply mailboxes: sealed partner messages, access hashes, deletion markers.

Revision 0004, after 0003 (the acceptance counts). Only adds tables: an
instance still on the previous release keeps working beside it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mailboxes",
        sa.Column("mailbox_id", sa.LargeBinary(32), primary_key=True),
        sa.Column("access_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
    )
    op.create_index("mailboxes_expires_at", "mailboxes", ["expires_at"])
    op.create_table(
        "mailbox_messages",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column(
            "mailbox_id",
            sa.LargeBinary(32),
            sa.ForeignKey(
                "mailboxes.mailbox_id", ondelete="CASCADE", name="mailbox_messages_mailbox"
            ),
            nullable=False,
        ),
        sa.Column("message_id", sa.String(64), nullable=False),
        sa.Column("wire", sa.LargeBinary, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("mailbox_id", "message_id", name="mailbox_messages_once"),
    )
    op.create_index("mailbox_messages_expires_at", "mailbox_messages", ["expires_at"])
    op.create_table(
        "deleted_mailboxes",
        sa.Column("marker_hash", sa.LargeBinary(32), primary_key=True),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
    )
    op.create_index("deleted_mailboxes_expires_at", "deleted_mailboxes", ["expires_at"])


def downgrade() -> None:
    op.drop_index("deleted_mailboxes_expires_at", table_name="deleted_mailboxes")
    op.drop_table("deleted_mailboxes")
    op.drop_index("mailbox_messages_expires_at", table_name="mailbox_messages")
    op.drop_table("mailbox_messages")
    op.drop_index("mailboxes_expires_at", table_name="mailboxes")
    op.drop_table("mailboxes")
