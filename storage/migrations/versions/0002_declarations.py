"""Declarations, their per-indicator answers, and evidence files.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "declarations",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("citizen_id", Id, nullable=False),
        sa.Column("year", sa.SmallInteger(), nullable=False),
        sa.Column("criteria_set", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("updated_at", When, nullable=False),
        sa.Column("submitted_at", When),
        sa.PrimaryKeyConstraint("id", name="pk_declarations"),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["citizens.id"],
            name="fk_declarations_citizen_id_citizens",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("citizen_id", "year", name="uq_declarations_citizen_id_year"),
    )
    op.create_index("ix_declarations_status", "declarations", ["status"])
    op.create_table(
        "declaration_answers",
        sa.Column("declaration_id", Id, nullable=False),
        sa.Column("indicator", sa.SmallInteger(), nullable=False),
        sa.Column("score", sa.SmallInteger()),
        sa.Column("note", sa.String(500)),
        sa.Column("updated_at", When, nullable=False),
        sa.PrimaryKeyConstraint("declaration_id", "indicator", name="pk_declaration_answers"),
        sa.ForeignKeyConstraint(
            ["declaration_id"],
            ["declarations.id"],
            name="fk_declaration_answers_declaration_id_declarations",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "evidence_files",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("declaration_id", Id, nullable=False),
        sa.Column("indicator", sa.SmallInteger(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("mime_type", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("original_name", sa.String(255)),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("channel_file_id", sa.String(255), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_evidence_files"),
        sa.ForeignKeyConstraint(
            ["declaration_id"],
            ["declarations.id"],
            name="fk_evidence_files_declaration_id_declarations",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "declaration_id", "indicator", "sha256", name="uq_evidence_files_declaration_id"
        ),
    )
    op.create_index("ix_evidence_files_sha256", "evidence_files", ["sha256"])


def downgrade() -> None:
    op.drop_table("evidence_files")
    op.drop_table("declaration_answers")
    op.drop_table("declarations")
