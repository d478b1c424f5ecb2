"""Five Hải Phòng units change code: vietnam-provinces 2025.10.1 (installed on Python 3.11) had
them wrong; the shipped list (vietnam-provinces 2026.9.0 data) has the official ones. Citizens,
coordinators' wards and unused invitations follow.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# old code -> official code (Thành Đông, Tứ Minh, Nam Đồng, An Thành, Ngô Quyền)
CODES = {"10510": "10507", "10540": "10891", "10672": "10837", "10777": "10792", "11341": "11329"}
VERSION = "vietnam-provinces:2026-09-20"

citizens = sa.table(
    "citizens",
    sa.column("ward_code", sa.String),
    sa.column("ward_data_version", sa.String),
)
staff_wards = sa.table("staff_wards", sa.column("ward_code", sa.String))
invitations = sa.table(
    "invitations", sa.column("id", sa.Integer), sa.column("wards", sa.JSON), sa.column("used_at")
)


def _remap(codes: dict[str, str]) -> None:
    for old, new in codes.items():
        op.execute(
            citizens.update()
            .where(citizens.c.ward_code == old)
            .values(ward_code=new, ward_data_version=VERSION)
        )
        op.execute(staff_wards.update().where(staff_wards.c.ward_code == old).values(ward_code=new))
    connection = op.get_bind()
    rows = connection.execute(sa.select(invitations.c.id, invitations.c.wards))
    for invitation_id, wards in rows.fetchall():
        listed = wards if isinstance(wards, list) else json.loads(wards or "[]")
        changed = [codes.get(str(code), str(code)) for code in listed]
        if changed != listed:
            connection.execute(
                invitations.update().where(invitations.c.id == invitation_id).values(wards=changed)
            )


def upgrade() -> None:
    _remap(CODES)


def downgrade() -> None:
    _remap({new: old for old, new in CODES.items()})
