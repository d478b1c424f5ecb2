"""Engine creation: SQLite with WAL, busy timeout and immediate transactions; or PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.engine.ports import StorageUnavailable

__all__ = ["BUSY_TIMEOUT_MS", "create_engine", "is_sqlite", "sqlite_pragmas"]

SQLITE_BUSY_TIMEOUT_MS = 10_000
# each SQLite engine's busy timeout, for the store's writer to wait as long (storage/writer.py)
BUSY_TIMEOUT_MS: WeakKeyDictionary[Any, int] = WeakKeyDictionary()


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_pragmas(busy_timeout_ms: int) -> Any:
    """A "connect" listener: WAL, the busy timeout, foreign keys, secure deletion."""

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, open transactions, so "begin" decides how.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Overwrite deleted content with zeros, so that erased personal data does not stay
        # readable in free pages of the file (https://sqlite.org/pragma.html#pragma_secure_delete).
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    return on_connect


def create_engine(url: str, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # No pool_pre_ping: it cost a round trip on every checkout (9 → 6 per update, measured);
        # a connection PostgreSQL dropped fails its transaction, which is StorageUnavailable and
        # retried, and the pool replaces it (pool_recycle bounds an idle connection's age).
        # Pool size by measurement (bench/updates.py, 100 citizens at once, one process on two
        # cores): 2 connections 257 updates/s, 5: 304, 10: 307, 20: 265 — more connections than
        # the CPU can serve only add contention.
        return create_async_engine(url, pool_size=8, max_overflow=2, pool_recycle=1800)
    if parsed.database and parsed.database != ":memory:":
        folder = Path(parsed.database).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageUnavailable(f"cannot create {folder}: {exc.strerror}") from exc
    engine = create_async_engine(url, connect_args={"timeout": busy_timeout_ms / 1000})
    BUSY_TIMEOUT_MS[engine.sync_engine] = busy_timeout_ms
    event.listen(engine.sync_engine, "connect", sqlite_pragmas(busy_timeout_ms))

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Take the write lock up front: a deferred transaction that later writes can fail with
        # SQLITE_BUSY at once instead of waiting for the busy timeout.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
