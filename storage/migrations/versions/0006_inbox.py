"""The inbox of acknowledged updates; outbox rows know the citizen they are about.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("update_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("received_at", When, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_inbox"),
        sa.UniqueConstraint("channel", "update_id", name="uq_inbox_channel_update_id"),
    )
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("citizen_id", Id))
    op.create_index("ix_outbox_citizen_id", "outbox", ["citizen_id"])
    op.create_index("ix_outbox_recipient", "outbox", ["channel", "external_id"])


def downgrade() -> None:
    op.drop_index("ix_outbox_recipient", "outbox")
    op.drop_index("ix_outbox_citizen_id", "outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("citizen_id")
    op.drop_table("inbox")
