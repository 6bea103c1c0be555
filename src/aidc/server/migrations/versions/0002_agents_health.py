"""node agents and health: heartbeat and telemetry on nodes, telemetry history, repair records

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("nodes") as batch:
        batch.add_column(sa.Column("agent_seen_s", sa.Float(), nullable=True))
        batch.add_column(sa.Column("agent_info", sa.JSON(), nullable=False, server_default="{}"))
        batch.add_column(sa.Column("telemetry", sa.JSON(), nullable=False, server_default="{}"))
    op.create_table(
        "node_samples",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("node_id", sa.Integer(), sa.ForeignKey("nodes.id"), nullable=False),
        sa.Column("at_s", sa.Float(), nullable=False),
        sa.Column("gpu_util_pct", sa.Float(), nullable=False),
        sa.Column("gpu_mem_used_gib", sa.Float(), nullable=False),
        sa.Column("power_w", sa.Float(), nullable=False),
        sa.Column("max_temp_c", sa.Float(), nullable=False),
        sa.Column("cpu_pct", sa.Float(), nullable=False),
        sa.Column("mem_used_gib", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_node_samples_node_at", "node_samples", ["node_id", "at_s"])
    op.create_table(
        "repairs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("node_id", sa.Integer(), sa.ForeignKey("nodes.id"), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_s", sa.Float(), nullable=False),
        sa.Column("closed_s", sa.Float(), nullable=True),
        sa.Column("checks", sa.Integer(), nullable=False),
        sa.Column("next_check_s", sa.Float(), nullable=False),
        sa.Column("check_output", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_repairs_node_status", "repairs", ["node_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_repairs_node_status", table_name="repairs")
    op.drop_table("repairs")
    op.drop_index("ix_node_samples_node_at", table_name="node_samples")
    op.drop_table("node_samples")
    with op.batch_alter_table("nodes") as batch:
        batch.drop_column("telemetry")
        batch.drop_column("agent_info")
        batch.drop_column("agent_seen_s")
