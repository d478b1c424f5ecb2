"""The use cases' tests run on a store of their own, migrated (SQLite, and PostgreSQL when
``CDHT_TEST_POSTGRES_URL`` is set), with no conversation around them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from storage import SqlStore, create_engine, upgrade


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlStore]:
    store = SqlStore(create_engine(database_url))
    await upgrade(store.engine)
    yield store
    await store.close()
