"""Organisations (schools, agencies, enterprises) the admins keep (``orgs``); the one a citizen
named as their workplace or school (``citizens.org_id``); the organisation an account verifies
for (``staff.org_id``, ``invitations.org_id``); and each verification an organisation gave a
declaration (``org_verifications``), which the ward's reviewer sees.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "orgs",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(150), nullable=False),
        sa.Column("ward_code", sa.String(10), nullable=False),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("name", "ward_code", name="uq_orgs_name_ward_code"),
    )
    op.create_table(
        "org_verifications",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column(
            "declaration_id",
            Id,
            sa.ForeignKey("declarations.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("org_id", Id, nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("declaration_id", "round", name="uq_org_verifications_round"),
    )
    # plain ADD COLUMN, not a batch (a batch on SQLite drops the table, and the drop cascades)
    for table in ("citizens", "staff", "invitations"):
        op.add_column(table, sa.Column("org_id", Id, nullable=True))
    op.create_index("ix_citizens_org_id", "citizens", ["org_id"])


def downgrade() -> None:
    op.drop_index("ix_citizens_org_id", "citizens")
    for table in ("invitations", "staff", "citizens"):
        op.drop_column(table, "org_id")
    op.drop_table("org_verifications")
    op.drop_table("orgs")
