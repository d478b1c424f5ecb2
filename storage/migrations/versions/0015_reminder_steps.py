"""Reminders as campaign steps the admins edit: each row reminds citizens ``days`` after an
event if they have not acted (``registered``: not started; ``idle``: a draft untouched;
``returned``: not resubmitted). The table starts empty; the first scheduler run writes the
configured defaults into it (CDHT_REMINDER_*), and from then on the rows are what counts.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reminder_steps",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(80), nullable=False),
        sa.UniqueConstraint("event", "days", name="uq_reminder_steps_event_days"),
    )


def downgrade() -> None:
    op.drop_table("reminder_steps")
