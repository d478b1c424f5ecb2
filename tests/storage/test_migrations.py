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


async def test_0008_moves_five_outdated_ward_codes_to_the_official_ones(store: SqlStore) -> None:
    from bot.domain.wards import CORRECTED_CODES, WardDirectory

    await upgrade(store.engine, "0007")
    async with store.engine.begin() as conn:
        for number, code in enumerate(("10510", "11341", "11383"), start=1):
            await conn.execute(
                text(
                    "INSERT INTO citizens (id, full_name, birth_year, phone, target_group, "
                    "ward_code, ward_name, ward_data_version, residential_group, channel, locale, "
                    "registered_at, updated_at) VALUES (:id, 'Người Thử', 1970, '+84912000000', "
                    "1, :code, 'x', 'vietnam-provinces:2025.10.1', 'Tổ 1', 'test', 'vi', :now, "
                    ":now)"
                ),
                {"id": number, "code": code, "now": NOW},
            )
        await conn.execute(
            text(
                "INSERT INTO staff (id, channel, external_id, role, invited_by, created_at) "
                "VALUES (1, 'telegram', 'c', 'coordinator', 'cli', :now)"
            ),
            {"now": NOW},
        )
        await conn.execute(
            text("INSERT INTO staff_wards (staff_id, ward_code) VALUES (1, '10777')")
        )
        await conn.execute(
            text(
                "INSERT INTO invitations (code_hash, role, wards, created_by, created_at, "
                "expires_at) VALUES ('h', 'coordinator', '[\"10672\", \"11383\"]', 'cli', :now, "
                ":now)"
            ),
            {"now": NOW},
        )
    await upgrade(store.engine)
    async with store.engine.connect() as conn:
        citizens = (await conn.execute(text("SELECT ward_code FROM citizens ORDER BY id"))).all()
        wards = (await conn.execute(text("SELECT ward_code FROM staff_wards"))).scalars().all()
    async with store.transaction() as uow:
        invitation = await uow.staff.invitation("h")
    assert [row[0] for row in citizens] == ["10507", "11329", "11383"]
    assert wards == ["10792"]
    assert invitation is not None and list(invitation.wards) == ["10837", "11383"]
    shipped = WardDirectory.from_package(31)
    for old, new in CORRECTED_CODES.items():  # every new code is a unit of the shipped list
        assert shipped.get(new) is not None and shipped.get(old) is None
        assert shipped.current_code(old) == new


async def test_processes_starting_at_once_migrate_once(database_url: str) -> None:
    """Three engines (as three processes would) upgrading an empty database together: on
    PostgreSQL the advisory lock makes the others wait; all end at head, nothing fails."""
    import asyncio

    from storage import current_revision, head_revision

    stores = [SqlStore(create_engine(database_url)) for _ in range(3)]
    try:
        await asyncio.gather(*(upgrade(store.engine) for store in stores))
        assert await current_revision(stores[0].engine) == head_revision()
    finally:
        for store in stores:
            await store.close()


async def test_the_leader_lease_is_held_by_one_and_passes_on(database_url: str) -> None:
    first, second = (SqlStore(create_engine(database_url)) for _ in range(2))
    try:
        lease = await first.try_lease("leader")
        assert lease is not None and await lease.alive()
        other = await second.try_lease("leader")
        if first.shared:  # PostgreSQL: one holder at a time
            assert other is None
            await lease.release()
            taken = await second.try_lease("leader")
            assert taken is not None
            await taken.release()
        else:  # SQLite serves one process: granted
            assert other is not None
    finally:
        await first.close()
        await second.close()
