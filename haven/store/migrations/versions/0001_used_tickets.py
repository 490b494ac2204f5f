"""Used no-JavaScript tickets, so single use holds across every intake instance.

Revision 0001, the first.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "used_tickets",
        sa.Column("ticket_hash", sa.LargeBinary(32), primary_key=True),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
    )
    op.create_index("used_tickets_expires_at", "used_tickets", ["expires_at"])


def downgrade() -> None:
    op.drop_index("used_tickets_expires_at", table_name="used_tickets")
    op.drop_table("used_tickets")
