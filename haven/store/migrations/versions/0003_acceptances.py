"""Recent acceptance counts, so every intake instance prices work by the deployment's rate.

Revision 0003, after 0002 (the routers' consumed assignments).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
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
