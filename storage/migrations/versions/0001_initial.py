"""Citizens, channel identities, conversations, consents, processed updates.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "citizens",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("full_name", sa.String(100), nullable=False),
        sa.Column("birth_year", sa.SmallInteger(), nullable=False),
        sa.Column("gender", sa.String(10)),
        sa.Column("phone", sa.String(20), nullable=False),
        sa.Column("target_group", sa.SmallInteger(), nullable=False),
        sa.Column("ward_code", sa.String(10), nullable=False),
        sa.Column("ward_name", sa.String(100), nullable=False),
        sa.Column("ward_data_version", sa.String(60), nullable=False),
        sa.Column("residential_group", sa.String(100), nullable=False),
        sa.Column("workplace", sa.String(150)),
        sa.Column("guardian_consent", sa.Boolean()),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("locale", sa.String(5), nullable=False),
        sa.Column("registered_at", When, nullable=False),
        sa.Column("updated_at", When, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_citizens"),
    )
    op.create_index("ix_citizens_ward_code", "citizens", ["ward_code"])
    op.create_table(
        "identities",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("external_id", sa.String(64), nullable=False),
        sa.Column("citizen_id", Id),
        sa.Column("locale", sa.String(5)),
        sa.Column("created_at", When, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_identities"),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["citizens.id"],
            name="fk_identities_citizen_id_citizens",
            ondelete="SET NULL",
        ),
        sa.UniqueConstraint("channel", "external_id", name="uq_identities_channel_external_id"),
    )
    op.create_index("ix_identities_citizen_id", "identities", ["citizen_id"])
    op.create_table(
        "conversations",
        sa.Column("identity_id", Id, nullable=False),
        sa.Column("flow", sa.String(32), nullable=False),
        sa.Column("step", sa.String(48), nullable=False),
        sa.Column("collected", sa.JSON(), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("updated_at", When, nullable=False),
        sa.PrimaryKeyConstraint("identity_id", name="pk_conversations"),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["identities.id"],
            name="fk_conversations_identity_id_identities",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "consents",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("citizen_id", Id, nullable=False),
        sa.Column("notice_version", sa.String(32), nullable=False),
        sa.Column("purposes", sa.JSON(), nullable=False),
        sa.Column("accepted_at", When, nullable=False),
        sa.Column("withdrawn_at", When),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_consents"),
        sa.ForeignKeyConstraint(
            ["citizen_id"],
            ["citizens.id"],
            name="fk_consents_citizen_id_citizens",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_consents_citizen_id", "consents", ["citizen_id"])
    op.create_table(
        "processed_updates",
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("update_id", sa.String(64), nullable=False),
        sa.Column("processed_at", When, nullable=False),
        sa.PrimaryKeyConstraint("channel", "update_id", name="pk_processed_updates"),
    )
    op.create_index("ix_processed_updates_processed_at", "processed_updates", ["processed_at"])


def downgrade() -> None:
    op.drop_table("processed_updates")
    op.drop_table("consents")
    op.drop_table("conversations")
    op.drop_table("identities")
    op.drop_table("citizens")
