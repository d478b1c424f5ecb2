"""Data migrations, on SQLite and PostgreSQL: rows written by an older release, upgraded."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from storage import SqlStore, create_engine, upgrade

NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlStore]:
    store = SqlStore(create_engine(database_url))
    yield store
    await store.close()


async def test_0005_takes_away_admin_roles_no_admin_invitation_granted(store: SqlStore) -> None:
    await upgrade(store.engine, "0004")
    staff = [
        # id, account, role, invited_by, wards
        (1, "configured", "admin", "CDHT_ADMINS", []),  # a configured admin's claim record
        (2, "configured-ward", "admin", "CDHT_ADMINS", ["11311"]),
        (3, "invited-admin", "admin", "cli", []),  # redeemed an admin invitation: stays
        (4, "kept-admin", "admin", "telegram:9", ["11383"]),  # configured, then a ward code
        (5, "coordinator", "coordinator", "cli", ["11383"]),
    ]
    async with store.engine.begin() as conn:
        for staff_id, account, role, invited_by, wards in staff:
            await conn.execute(
                text(
                    "INSERT INTO staff (id, channel, external_id, role, invited_by, created_at) "
                    "VALUES (:id, 'telegram', :account, :role, :invited_by, :now)"
                ),
                {"id": staff_id, "account": account, "role": role, "invited_by": invited_by,
                 "now": NOW},
            )  # fmt: skip
            for ward in wards:
                await conn.execute(
                    text("INSERT INTO staff_wards (staff_id, ward_code) VALUES (:id, :ward)"),
                    {"id": staff_id, "ward": ward},
                )
        await conn.execute(
            text(
                "INSERT INTO invitations (code_hash, role, wards, created_by, created_at, "
                "expires_at, used_at, used_by) VALUES ('h', 'admin', '[]', 'cli', :now, :now, "
                ":now, 3)"
            ),
            {"now": NOW},
        )
    await upgrade(store.engine)
    async with store.transaction() as uow:
        roles = {member.external_id: member.role for member in await uow.staff.all()}
    assert roles == {
        "configured": "none",
        "configured-ward": "coordinator",
        "invited-admin": "admin",
        "kept-admin": "coordinator",
        "coordinator": "coordinator",
    }
