"""Work shared among a ward's reviewers: each declaration submitted is given to one of them
(``declarations.assigned_to``, ``assigned_at``; NULL: the ward's pool), by open load within
each reviewer's ``staff.capacity`` (NULL: the configured default), never to one who is
``away_since`` (``/away``).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMN, not a batch: on SQLite a batch would copy and drop the tables, and the
    # drops cascade (declarations' answers and events, staff's wards)
    op.add_column(
        "declarations",
        sa.Column(
            "assigned_to", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
    )
    op.add_column(
        "declarations", sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_index("ix_declarations_assigned_to", "declarations", ["assigned_to"])
    op.add_column("staff", sa.Column("capacity", sa.Integer(), nullable=True))
    op.add_column("staff", sa.Column("away_since", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("staff", "away_since")
    op.drop_column("staff", "capacity")
    op.drop_index("ix_declarations_assigned_to", "declarations")
    op.drop_column("declarations", "assigned_at")
    op.drop_column("declarations", "assigned_to")
