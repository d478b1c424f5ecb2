"""Repositories on SQLite, and on PostgreSQL when CDHT_TEST_POSTGRES_URL is set."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot.domain.records import NewCitizen
from bot.engine.ports import Conversation, StorageUnavailable
from storage import SqlStore, create_engine, current_revision, head_revision, upgrade
from storage.models import metadata

NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


def new_citizen(**changes: object) -> NewCitizen:
    fields: dict[str, object] = {
        "full_name": "Nguyễn Văn Cừ",
        "birth_year": 1980,
        "gender": "male",
        "phone": "+84912345678",
        "group": 1,
        "ward_code": "11383",
        "ward_name": "Phường Lê Chân",
        "ward_data_version": "vietnam-provinces:2025-10-18",
        "residential_group": "Tổ 5",
        "workplace": None,
        "guardian_consent": None,
        "channel": "telegram",
        "locale": "vi",
    }
    fields.update(changes)
    return NewCitizen(**fields)  # type: ignore[arg-type]


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlStore]:
    store = SqlStore(create_engine(database_url))
    await upgrade(store.engine)
    yield store
    await store.close()


async def test_migrations_reach_head_and_match_the_models(store: SqlStore) -> None:
    assert await current_revision(store.engine) == head_revision()
    await upgrade(store.engine)  # idempotent

    def diff(connection: object) -> list[object]:
        return list(compare_metadata(MigrationContext.configure(connection), metadata))  # type: ignore[arg-type]

    async with store.engine.connect() as conn:
        assert await conn.run_sync(diff) == []


async def test_identities_are_unique_per_channel(store: SqlStore) -> None:
    async with store.transaction() as uow:
        tg = await uow.identities.create("telegram", "42", "vi")
        zalo = await uow.identities.create("zalo", "42", None)
        assert tg.id != zalo.id
        await uow.identities.set_locale(zalo.id, "en")
    async with store.transaction() as uow:
        found = await uow.identities.get("zalo", "42")
        assert found is not None and found.locale == "en" and found.subject_id is None
        assert await uow.identities.get("telegram", "43") is None
    with pytest.raises(IntegrityError):
        async with store.transaction() as uow:
            await uow.identities.create("telegram", "42", "vi")


async def test_conversation_round_trip_with_vietnamese_values(store: SqlStore) -> None:
    async with store.transaction() as uow:
        identity = await uow.identities.create("telegram", "7", "vi")
        values = {"full_name": "Đỗ Thị Ánh", "ward_candidates": [["11383", "Phường Lê Chân"]]}
        await uow.conversations.save(
            Conversation(identity.id, "registration", "ward_pick", values, ("consent", "group"), 3)
        )
    async with store.transaction() as uow:
        loaded = await uow.conversations.get(identity.id)
        assert loaded == Conversation(
            identity.id, "registration", "ward_pick", values, ("consent", "group"), 3
        )
        await uow.conversations.save(
            Conversation(identity.id, "registration", "residential_group", {}, (), 4)
        )
    async with store.transaction() as uow:
        loaded = await uow.conversations.get(identity.id)
        assert loaded is not None and loaded.step == "residential_group" and loaded.seq == 4
        await uow.identities.delete(identity.id)  # the conversation goes with it
    async with store.transaction() as uow:
        assert await uow.conversations.get(identity.id) is None


async def test_a_failed_unit_of_work_is_rolled_back(store: SqlStore) -> None:
    with pytest.raises(RuntimeError):
        async with store.transaction() as uow:
            await uow.identities.create("telegram", "99", "vi")
            raise RuntimeError("crash after a write")
    async with store.transaction() as uow:
        assert await uow.identities.get("telegram", "99") is None


async def test_citizens_consents_and_export_filter(store: SqlStore) -> None:
    async with store.transaction() as uow:
        first = await uow.citizens.create(new_citizen(), NOW)
        second = await uow.citizens.create(
            new_citizen(full_name="Lê Thị Hoa", ward_code="11311", ward_name="Phường Hồng Bàng"),
            NOW,
        )
        await uow.consents.record(first.id, "2026-01", ["a", "b"], NOW, "telegram")
    async with store.transaction() as uow:
        loaded = await uow.citizens.get(first.id)
        assert loaded == first
        assert loaded is not None and loaded.registered_at == NOW
        assert [c.full_name for c in await uow.citizens.list("11311")] == ["Lê Thị Hoa"]
        assert len(await uow.citizens.list()) == 2
        (consent,) = await uow.consents.for_citizen(first.id)
        assert consent.purposes == ("a", "b") and consent.accepted_at == NOW
        updated = await uow.citizens.update(
            second.id, new_citizen(full_name="Lê Thị Hòa"), NOW + timedelta(days=1)
        )
        assert updated.full_name == "Lê Thị Hòa" and updated.registered_at == NOW
    async with store.transaction() as uow:
        identity = await uow.identities.create("telegram", "5", "vi")
        await uow.identities.bind(identity.id, first.id)
        await uow.identities.delete_for_citizen(first.id)
        await uow.citizens.delete(first.id)
    async with store.transaction() as uow:
        assert await uow.citizens.get(first.id) is None
        assert await uow.consents.for_citizen(first.id) == []
        assert await uow.identities.get("telegram", "5") is None


async def test_update_claims_and_pruning(store: SqlStore) -> None:
    async with store.transaction() as uow:
        assert await uow.updates.claim("telegram", "7", "1")
        assert not await uow.updates.claim("telegram", "7", "1")
        assert await uow.updates.claim("zalo", "7", "1")
    async with store.transaction() as uow:
        assert not await uow.updates.claim("telegram", "7", "1")
        assert await uow.updates.prune(datetime.now(UTC) + timedelta(seconds=1)) == 2
        assert await uow.updates.claim("telegram", "7", "1")


async def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path: object) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path}/wal.sqlite3")
    async with engine.connect() as conn:
        assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
        assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() == 10_000
        assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
    await engine.dispose()


async def test_a_database_that_cannot_be_used_is_reported_as_unavailable(tmp_path: Path) -> None:
    """SQLite locked past its busy timeout, PostgreSQL not listening: both StorageUnavailable,
    which the channels wait out with back-off instead of losing the update."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'locked.sqlite3'}"
    store = SqlStore(create_engine(url, busy_timeout_ms=100))
    await upgrade(store.engine)
    holder = sqlite3.connect(tmp_path / "locked.sqlite3", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        with pytest.raises(StorageUnavailable):
            async with store.transaction() as uow:
                await uow.citizens.count()
        holder.execute("ROLLBACK")
        async with store.transaction() as uow:  # free again
            assert await uow.citizens.count() == 0
    finally:
        holder.close()
        await store.close()
    gone = SqlStore(create_engine("postgresql+asyncpg://postgres@127.0.0.1:1/none"))
    try:
        with pytest.raises(StorageUnavailable):
            async with gone.transaction() as uow:
                await uow.citizens.count()
    finally:
        await gone.close()
    other = SqlStore(create_engine(url))
    try:
        with pytest.raises(ValueError, match="a bug"):  # other errors stay what they are
            async with other.transaction():
                raise ValueError("a bug")
    finally:
        await other.close()
