"""Engine creation: SQLite with WAL, busy timeout and immediate transactions; or PostgreSQL."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.engine.ports import StorageUnavailable

__all__ = [
    "BUSY_TIMEOUT_MS",
    "UnsupportedDatabase",
    "async_url",
    "create_engine",
    "is_sqlite",
    "sqlite_pragmas",
]

SQLITE_BUSY_TIMEOUT_MS = 10_000
# each SQLite engine's busy timeout, for the store's writer to wait as long (storage/writer.py)
BUSY_TIMEOUT_MS: WeakKeyDictionary[Any, int] = WeakKeyDictionary()


WHAT_TO_WRITE = (
    "write postgresql://USER:PASSWORD@HOST/DATABASE, or leave it unset for the SQLite file "
    "in the data folder"
)


class UnsupportedDatabase(ValueError):
    """A database URL the bot cannot use; the message says what to write instead."""


def async_url(url: str) -> str:
    """The URL with the async driver the bot uses: ``postgresql://`` and ``postgres://`` (the
    forms PostgreSQL's documentation and hosting providers give) become
    ``postgresql+asyncpg://``, ``sqlite://`` becomes ``sqlite+aiosqlite://``. libpq's
    ``sslmode`` is asyncpg's ``ssl`` (same values: disable … verify-full,
    https://magicstack.github.io/asyncpg/current/api/index.html#connection): SQLAlchemy passes
    the query's options to ``asyncpg.connect`` as they are. Anything else is
    ``UnsupportedDatabase``, whose message says what to write."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise UnsupportedDatabase(f"not a database address; {WHAT_TO_WRITE}") from None
    backend = _backend(parsed)
    driver = parsed.drivername.partition("+")[2].lower()  # "" when none is named
    if backend == "postgresql" and driver in ("", "asyncpg"):
        query = dict(parsed.query)
        if "sslmode" in query and "ssl" not in query:
            query["ssl"] = query.pop("sslmode")
        wanted = parsed.set(drivername="postgresql+asyncpg", query=query)
    elif backend == "sqlite" and driver in ("", "aiosqlite"):
        wanted = parsed.set(drivername="sqlite+aiosqlite")
    else:
        what = parsed.drivername if backend in ("postgresql", "sqlite") else backend
        raise UnsupportedDatabase(f"the bot cannot use {what!r}; {WHAT_TO_WRITE}")
    return url if wanted == parsed else wanted.render_as_string(hide_password=False)


def _backend(parsed: URL) -> str:
    name = parsed.drivername.partition("+")[0].lower()
    return "postgresql" if name in ("postgres", "postgresql") else name


def is_sqlite(url: str) -> bool:
    return make_url(async_url(url)).get_backend_name() == "sqlite"


def sqlite_pragmas(busy_timeout_ms: int) -> Any:
    """A "connect" listener: WAL, the busy timeout, foreign keys, secure deletion."""

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, open transactions, so "begin" decides how.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        _retried_while_locked(lambda: cursor.execute("PRAGMA journal_mode=WAL"), busy_timeout_ms)
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Overwrite deleted content with zeros, so that erased personal data does not stay
        # readable in free pages of the file (https://sqlite.org/pragma.html#pragma_secure_delete).
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    return on_connect


def _retried_while_locked(run: Callable[[], object], budget_ms: int) -> None:
    """Switching a new file to WAL needs the file to itself, and SQLite answers "database is
    locked" at once, without waiting on the busy timeout, while another connection (two
    processes starting together on a new file) holds it
    (https://sqlite.org/wal.html#sometimes_queries_return_sqlite_busy_in_wal_mode): tried
    again within the busy budget. Only at connect, only in that race."""
    deadline = time.monotonic() + budget_ms / 1000
    while True:
        try:
            run()
            return
        except Exception as exc:  # the driver's OperationalError, as adapted by SQLAlchemy
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(0.01)


# Units of work at once on PostgreSQL, by measurement (bench/updates.py, 100 citizens at once, one
# process on two cores): 2 connections 257 updates/s, 5: 304, 10: 307, 20: 265; more connections
# than the CPU can serve only add contention.
POSTGRES_UNITS_AT_ONCE = 10


def create_engine(url: str, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> AsyncEngine:
    """An engine for ``url`` (see ``async_url`` for the forms accepted)."""
    url = async_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # No pool_pre_ping: it cost a round trip on every checkout (9 → 6 per update, measured);
        # a connection PostgreSQL dropped fails its transaction, which is StorageUnavailable and
        # retried, and the pool replaces it (pool_recycle bounds an idle connection's age).
        # The units of work keep POSTGRES_UNITS_AT_ONCE connections (storage/driver.py's
        # PostgresConnections); the pool holds as many again for the leases (a session advisory
        # lock each) and the migrations.
        size = POSTGRES_UNITS_AT_ONCE
        return create_async_engine(url, pool_size=size, max_overflow=size, pool_recycle=1800)
    if parsed.database and parsed.database != ":memory:":
        _usable_folder(Path(parsed.database).parent)
    engine = create_async_engine(url, connect_args={"timeout": busy_timeout_ms / 1000})
    BUSY_TIMEOUT_MS[engine.sync_engine] = busy_timeout_ms
    event.listen(engine.sync_engine, "connect", sqlite_pragmas(busy_timeout_ms))

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Take the write lock up front: a deferred transaction that later writes can fail with
        # SQLITE_BUSY at once instead of waiting for the busy timeout.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _usable_folder(folder: Path) -> None:
    """The SQLite file's folder exists (made if need be) and can be written in: SQLite writes
    its journal files beside the database. Said in words before any connection is tried (a
    failed connection's driver thread could report after the event loop had closed)."""
    if folder.exists() and not folder.is_dir():
        raise StorageUnavailable(f"cannot use {folder}: it is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageUnavailable(f"cannot create {folder}: {exc.strerror or exc}") from exc
    if not os.access(folder, os.W_OK):  # access(2) also says EROFS on a read-only mount
        raise StorageUnavailable(f"cannot write in {folder} (read-only or not permitted)")
