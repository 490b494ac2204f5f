"""Recent acceptance counts, so every intake instance prices work by the deployment's rate.

Revision 0003. It follows 0001 on this branch; revision 0002 (the router's
consumed assignments) is written in parallel: when both are merged, this
one's down_revision becomes "0002" so the history stays one line.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "acceptances",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("accepted", sa.Integer, nullable=False),
    )
    op.create_index("acceptances_at", "acceptances", ["at"])


def downgrade() -> None:
    op.drop_index("acceptances_at", table_name="acceptances")
    op.drop_table("acceptances")
