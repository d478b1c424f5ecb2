"""Officers: a district's or the city's officer reads and reports across the wards it is given
and, with ``decides``, reviews and decides in the place of a ward that has no coordinator.
``staff.decides`` is the record's setting, ``invitations.decides`` what the invitation grants.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ALTER TABLE … ADD COLUMN on both databases, not a batch: on SQLite a batch copies and
    # drops ``staff``, and the drop cascades to ``staff_wards`` (every coordinator's wards lost;
    # test_0008_moves_five_outdated_ward_codes_to_the_official_ones saw it)
    for table in ("staff", "invitations"):
        op.add_column(
            table, sa.Column("decides", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    for table in ("invitations", "staff"):
        op.drop_column(table, "decides")  # SQLite 3.35 and later drop a column in place
