"""Migration 0011 and the wrong-code counters: counts written by an older release (under the
account's id) are kept under the account's keyed hash, and the id is gone; a counter without a
wrong code for 30 days is forgotten. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from storage import SqlStore, create_engine, upgrade

NOW = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlStore]:
    store = SqlStore(create_engine(database_url))
    yield store
    await store.close()


async def test_0011_keeps_the_counts_under_a_keyed_hash(store: SqlStore) -> None:
    await upgrade(store.engine, "0010")
    async with store.engine.begin() as conn:
        for account, failures, locked in (("411", 5, NOW + timedelta(minutes=1)), ("52", 2, None)):
            await conn.execute(
                text(
                    "INSERT INTO code_attempts (channel, external_id, failures, locked_until, "
                    "updated_at) VALUES ('telegram', :account, :failures, :locked, :now)"
                ),
                {"account": account, "failures": failures, "locked": locked, "now": NOW},
            )
    await upgrade(store.engine)
    async with store.engine.connect() as conn:
        stored = sorted(
            (await conn.execute(text("SELECT external_id FROM code_attempts"))).scalars()
        )
    assert len(stored) == 2 and all(len(value) == 64 for value in stored)
    assert not {"411", "52"} & set(stored)
    async with store.transaction() as uow:
        assert await uow.staff.failures("telegram", "411") == (5, NOW + timedelta(minutes=1))
        assert await uow.staff.failures("telegram", "52") == (2, None)
        assert await uow.staff.failures("zalo", "411") == (0, None)  # another account


async def test_a_counter_is_forgotten_30_days_after_the_last_wrong_code(store: SqlStore) -> None:
    await upgrade(store.engine)
    async with store.transaction() as uow:
        await uow.staff.set_failures("zalo", "old", 3, None, NOW - timedelta(days=31))
        await uow.staff.set_failures("zalo", "recent", 2, None, NOW - timedelta(days=29))
        await uow.staff.set_failures("zalo", "today", 1, None, NOW)  # counting forgets the old
    async with store.transaction() as uow:
        assert await uow.staff.failures("zalo", "old") == (0, None)
        assert await uow.staff.failures("zalo", "recent") == (2, None)
        assert await uow.staff.failures("zalo", "today") == (1, None)
