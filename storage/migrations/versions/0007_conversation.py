"""The conversation as people expect it: the numbered menu a typed number answers, staff display
names and contact phones, guardians named in their own consent records.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("identities") as batch:
        batch.add_column(sa.Column("menu", sa.JSON()))
    with op.batch_alter_table("staff") as batch:
        batch.add_column(sa.Column("display_name", sa.String(120)))
        batch.add_column(sa.Column("phone", sa.String(20)))
    with op.batch_alter_table("consents") as batch:
        batch.add_column(sa.Column("guardian_name", sa.String(100)))
        batch.add_column(sa.Column("guardian_relation", sa.String(50)))


def downgrade() -> None:
    with op.batch_alter_table("consents") as batch:
        batch.drop_column("guardian_relation")
        batch.drop_column("guardian_name")
    with op.batch_alter_table("staff") as batch:
        batch.drop_column("phone")
        batch.drop_column("display_name")
    with op.batch_alter_table("identities") as batch:
        batch.drop_column("menu")
