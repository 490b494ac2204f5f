"""Consumed routing assignments, so a decline is honoured once across every router and restart.

Revision 0002, on 0001.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consumed_assignments",
        sa.Column("nonce_hash", sa.LargeBinary(32), primary_key=True),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.Column("settled", sa.Boolean, nullable=False),
    )
    op.create_index("consumed_assignments_expires_at", "consumed_assignments", ["expires_at"])


def downgrade() -> None:
    op.drop_index("consumed_assignments_expires_at", table_name="consumed_assignments")
    op.drop_table("consumed_assignments")
