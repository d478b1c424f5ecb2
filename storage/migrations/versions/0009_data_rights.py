"""The citizen's data rights: corrections recorded (what changed, when, by whom), one-time codes
that link a second chat account to the same citizen, and the time a decided declaration's
evidence files were deleted under the retention rule.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "citizen_changes",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column(
            "citizen_id",
            Id,
            sa.ForeignKey(
                "citizens.id",
                ondelete="CASCADE",
                name="fk_citizen_changes_citizen_id_citizens",
            ),
            nullable=False,
        ),
        sa.Column("field", sa.String(32), nullable=False),
        sa.Column("old_value", sa.String(300)),
        sa.Column("new_value", sa.String(300)),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_citizen_changes"),
    )
    op.create_index("ix_citizen_changes_citizen_id", "citizen_changes", ["citizen_id"])
    op.create_table(
        "link_codes",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column(
            "citizen_id",
            Id,
            sa.ForeignKey(
                "citizens.id", ondelete="CASCADE", name="fk_link_codes_citizen_id_citizens"
            ),
            nullable=False,
        ),
        sa.Column("issued_by", sa.String(80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True)),
        sa.Column("used_by", sa.String(80)),
        sa.PrimaryKeyConstraint("id", name="pk_link_codes"),
        sa.UniqueConstraint("code_hash", name="uq_link_codes_code_hash"),
    )
    with op.batch_alter_table("declarations") as batch:
        batch.add_column(sa.Column("evidence_purged_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("declarations") as batch:
        batch.drop_column("evidence_purged_at")
    op.drop_table("link_codes")
    op.drop_index("ix_citizen_changes_citizen_id", "citizen_changes")
    op.drop_table("citizen_changes")
