"""Broadcasts, opt-out and unreachable accounts, outbox rows of a broadcast.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("identities") as batch:
        batch.add_column(sa.Column("unreachable_at", When))
        batch.add_column(sa.Column("opted_out_at", When))
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("broadcast_id", Id))
    op.create_index("ix_outbox_broadcast_id", "outbox", ["broadcast_id"])
    op.create_table(
        "broadcasts",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("text", sa.String(4000), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=False),
        sa.Column("audience", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("scheduled_at", When, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_broadcasts"),
    )
    op.create_index("ix_broadcasts_status", "broadcasts", ["status"])


def downgrade() -> None:
    op.drop_table("broadcasts")
    op.drop_index("ix_outbox_broadcast_id", "outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("broadcast_id")
    with op.batch_alter_table("identities") as batch:
        batch.drop_column("opted_out_at")
        batch.drop_column("unreachable_at")
