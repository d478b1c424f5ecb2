"""Staff roles come only from invitations: records made for admins of CDHT_ADMINS grant nothing.

Before this revision a configured admin's claim made a staff record with the admin role, and
redeeming a ward code kept that role; both outlived the account's removal from CDHT_ADMINS.
Such records become ``coordinator`` (when they hold wards) or ``none``; so does an admin
record that no admin invitation was ever redeemed for.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

staff = sa.table(
    "staff",
    sa.column("id", sa.Integer),
    sa.column("role", sa.String),
    sa.column("invited_by", sa.String),
)
staff_wards = sa.table("staff_wards", sa.column("staff_id", sa.Integer))
invitations = sa.table(
    "invitations", sa.column("role", sa.String), sa.column("used_by", sa.Integer)
)


def upgrade() -> None:
    admin_invited = (
        sa.select(invitations.c.used_by)
        .where(invitations.c.role == "admin", invitations.c.used_by == staff.c.id)
        .exists()
    )
    has_wards = sa.select(staff_wards.c.staff_id).where(staff_wards.c.staff_id == staff.c.id)
    not_granted = (staff.c.role == "admin") & (
        (staff.c.invited_by == "CDHT_ADMINS") | ~admin_invited
    )
    op.execute(staff.update().where(not_granted & has_wards.exists()).values(role="coordinator"))
    op.execute(staff.update().where(not_granted & ~has_wards.exists()).values(role="none"))


def downgrade() -> None:
    """Nothing to undo: the roles taken away were never granted."""
