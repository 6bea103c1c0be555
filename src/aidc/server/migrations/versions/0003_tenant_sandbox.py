"""tenant isolation: volumes, the Unix uid a tenant's jobs run as, how strictly they are isolated; job tokens

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(sa.Column("volumes", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("unix_uid", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("isolation", sa.String(length=16), nullable=False, server_default="best_effort"))
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("token_sha256", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("token_sha256")
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("isolation")
        batch.drop_column("unix_uid")
        batch.drop_column("volumes")
