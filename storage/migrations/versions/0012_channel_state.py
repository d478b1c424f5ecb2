"""What a channel keeps for itself, outside the campaign's tables: ``channel_state`` holds one
JSON value per (channel, key) with a version for compare-and-set writes. The Zalo Official
Account channel keeps each OA's ward, name and token pair there (a refresh token is single use:
the new pair must replace the old one atomically, once) and when each user last wrote to it.
``outbox.sent_via`` records how a channel with two ways of sending sent a message (an OA: a
consultation message, or outside the 7-day window the approved template), for the reports.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_state",
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", "key", name="pk_channel_state"),
    )
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("sent_via", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("sent_via")
    op.drop_table("channel_state")
