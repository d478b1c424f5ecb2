"""The one way a command opens the store: the database of the settings, migrated to the
current schema (as ``cdht run`` does at start), closed when the command is done."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from bot.config import Settings

if TYPE_CHECKING:
    from storage import SqlStore

__all__ = ["open_store"]


@asynccontextmanager
async def open_store(settings: Settings) -> AsyncIterator[SqlStore]:
    """The store, its schema brought up to date first; ``StorageUnavailable`` when the
    database cannot be reached or opened (``main`` says so in one line)."""
    from storage import SqlStore, create_engine, upgrade

    store = SqlStore(create_engine(settings.effective_database_url))
    try:
        await upgrade(store.engine)
        yield store
    finally:
        await store.close()
