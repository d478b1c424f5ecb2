"""Staff and invitations, the outbox, the audit trail, and review fields on declarations.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("declarations") as batch:
        batch.add_column(
            sa.Column("review_round", sa.Integer(), nullable=False, server_default="1")
        )
        batch.add_column(sa.Column("claimed_by", Id))
        batch.add_column(sa.Column("claimed_at", When))
        batch.add_column(sa.Column("reviewer", Id))
        batch.add_column(sa.Column("decision", sa.String(16)))
        batch.add_column(sa.Column("decision_reason", sa.String(1000)))
        batch.add_column(sa.Column("decided_by", sa.String(80)))
        batch.add_column(sa.Column("decided_at", When))
        batch.add_column(sa.Column("return_note", sa.String(1000)))
        batch.add_column(sa.Column("reopened", sa.JSON()))
    with op.batch_alter_table("declaration_answers") as batch:
        batch.add_column(sa.Column("verified_score", sa.SmallInteger()))
        batch.add_column(sa.Column("adjust_reason", sa.String(500)))
    op.create_table(
        "staff",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("external_id", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("invited_by", sa.String(80)),
        sa.Column("created_at", When, nullable=False),
        sa.Column("revoked_at", When),
        sa.PrimaryKeyConstraint("id", name="pk_staff"),
        sa.UniqueConstraint("channel", "external_id", name="uq_staff_channel_external_id"),
    )
    op.create_table(
        "staff_wards",
        sa.Column("staff_id", Id, nullable=False),
        sa.Column("ward_code", sa.String(10), nullable=False),
        sa.PrimaryKeyConstraint("staff_id", "ward_code", name="pk_staff_wards"),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name="fk_staff_wards_staff_id_staff", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_staff_wards_ward_code", "staff_wards", ["ward_code"])
    op.create_table(
        "invitations",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("wards", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("expires_at", When, nullable=False),
        sa.Column("used_at", When),
        sa.Column("used_by", Id),
        sa.PrimaryKeyConstraint("id", name="pk_invitations"),
        sa.UniqueConstraint("code_hash", name="uq_invitations_code_hash"),
    )
    op.create_table(
        "code_attempts",
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("external_id", sa.String(64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", When),
        sa.Column("updated_at", When, nullable=False),
        sa.PrimaryKeyConstraint("channel", "external_id", name="pk_code_attempts"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("external_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("priority", sa.SmallInteger(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(120)),
        sa.Column("not_before", When, nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("sent_at", When),
        sa.Column("last_error", sa.String(200)),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("dedupe_key", name="uq_outbox_dedupe_key"),
    )
    op.create_index("ix_outbox_due", "outbox", ["status", "channel", "priority", "id"])
    op.create_table(
        "declaration_events",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("declaration_id", Id, nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("from_status", sa.String(16), nullable=False),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(1000)),
        sa.Column("adjusted", sa.JSON()),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_declaration_events"),
        sa.ForeignKeyConstraint(
            ["declaration_id"],
            ["declarations.id"],
            name="fk_declaration_events_declaration_id_declarations",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_declaration_events_declaration_id", "declaration_events", ["declaration_id"]
    )


def downgrade() -> None:
    op.drop_table("declaration_events")
    op.drop_table("outbox")
    op.drop_table("code_attempts")
    op.drop_table("invitations")
    op.drop_table("staff_wards")
    op.drop_table("staff")
    with op.batch_alter_table("declaration_answers") as batch:
        batch.drop_column("adjust_reason")
        batch.drop_column("verified_score")
    with op.batch_alter_table("declarations") as batch:
        for column in (
            "reopened", "return_note", "decided_at", "decided_by", "decision_reason",
            "decision", "reviewer", "claimed_at", "claimed_by", "review_round",
        ):  # fmt: skip
            batch.drop_column(column)
