"""SQLite's one writer: a single connection used from the event loop's own thread.

Why not aiosqlite on this path. aiosqlite runs each call (cursor, execute, fetch, close,
commit) on its connection's thread and hands the result back to the loop: measured on the
project's 2-core machine, one such hop costs about 120 µs, while a whole small transaction done
by ``sqlite3`` itself (BEGIN IMMEDIATE, an INSERT, COMMIT, WAL with synchronous=NORMAL) costs
about 26 µs. An update is a handful of statements of microseconds each, so the hops, not SQLite,
were most of its time; and fifteen pooled connections queueing on SQLite's one write lock only
added its busy handler's sleeps. Here every transaction takes an ``asyncio.Lock`` (SQLite allows
one writer anyway), opens ``BEGIN IMMEDIATE`` without blocking — if another process (``cdht
export``, a second console) holds the lock, it retries with ``asyncio.sleep`` until the busy
budget is spent, then raises ``StorageUnavailable`` — and runs its statements synchronously
through SQLAlchemy Core, in the loop's thread.

A statement marked ``execution_options(cdht_bulk=True)`` (exports, reports, a broadcast's
``INSERT … SELECT``) runs on a worker thread instead, so that a long one never stalls the loop;
the lock keeps the connection to one user at a time. aiosqlite stays for Alembic and the rest of
the async engine (``SqlStore.engine``).
"""

from __future__ import annotations

import asyncio
import contextvars
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, Result, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import StaticPool

from bot.engine.ports import StorageUnavailable
from storage.driver import DRIVER, Compiled, DriverResult, arguments, compiled_for, driver_error

__all__ = ["BULK", "LoopConnection", "SqliteWriter"]

BULK = "cdht_bulk"  # execution option: run this statement on a worker thread
_holder: contextvars.ContextVar[object | None] = contextvars.ContextVar(
    "sqlite_writer", default=None
)


class LoopConnection:
    """The part of ``AsyncConnection`` the repositories use, over the writer's connection."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self.dialect = conn.dialect

    async def execute(self, statement: Any, parameters: Any = None) -> Result[Any]:
        options = statement.get_execution_options()
        if options.get(BULK):
            return await asyncio.to_thread(self._buffered, statement, parameters)
        if options.get(DRIVER) and isinstance(parameters, dict):
            compiled = compiled_for(statement, self.dialect, list(parameters))
            if compiled is not None:
                return self._on_driver(compiled, parameters)  # type: ignore[return-value]
        return self._conn.execute(statement, parameters)

    def _on_driver(self, compiled: Compiled, parameters: dict[str, Any]) -> DriverResult:
        """A hot statement on the sqlite3 cursor (``storage/driver.py``), in this transaction
        (the connection is in autocommit mode: ``BEGIN IMMEDIATE`` opened it)."""
        cursor = self._conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(compiled.sql, arguments(compiled, parameters))
            rows = cursor.fetchall() if compiled.returns_rows else []
            keys = [column[0] for column in cursor.description or ()]
            return DriverResult(compiled, keys, rows, cursor.rowcount)
        except sqlite3.Error as exc:
            raise driver_error(exc, sqlite3.Error) from exc
        finally:
            cursor.close()

    def _buffered(self, statement: Any, parameters: Any) -> Result[Any]:
        result = self._conn.execute(statement, parameters)
        return result.freeze()() if result.returns_rows else result

    async def scalar(self, statement: Any, parameters: Any = None) -> Any:
        result = await self.execute(statement, parameters)
        return result.scalar()


class SqliteWriter:
    def __init__(self, url: str, pragmas: Any, busy_timeout_ms: int) -> None:
        sync_url = make_url(url).set(drivername="sqlite+pysqlite")
        # timeout=0: the lock is waited for here, with asyncio.sleep, never inside SQLite
        self.engine: Engine = create_sync_engine(
            sync_url,
            poolclass=StaticPool,
            connect_args={"check_same_thread": False, "timeout": 0},
        )
        event.listen(self.engine, "connect", pragmas)
        self._busy_seconds = busy_timeout_ms / 1000
        self._lock = asyncio.Lock()
        self._conn: Connection | None = None

    def _connection(self) -> Connection:
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            self._conn = self.engine.connect()
        return self._conn

    async def _begin(self, conn: Connection) -> None:
        deadline = time.monotonic() + self._busy_seconds
        pause = 0.001
        while True:
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except OperationalError as exc:
                conn.rollback()
                if "locked" not in str(exc.orig) and "busy" not in str(exc.orig):
                    raise
                if time.monotonic() >= deadline:
                    raise StorageUnavailable("OperationalError: database is locked") from exc
                await asyncio.sleep(pause)
                pause = min(pause * 2, 0.1)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[LoopConnection]:
        task = asyncio.current_task()
        if _holder.get() is task:  # would wait for itself forever
            raise RuntimeError("a transaction inside a transaction of the same task")
        async with self._lock:
            token = _holder.set(task)
            try:
                conn = self._connection()
                await self._begin(conn)
                try:
                    yield LoopConnection(conn)
                except BaseException:
                    conn.rollback()
                    raise
                try:
                    conn.commit()
                except BaseException:
                    conn.rollback()
                    raise
            finally:
                _holder.reset(token)

    async def checkpoint(self) -> None:
        """Copy the write-ahead log into the file and empty it (outside any transaction)."""
        async with self._lock:
            conn = self._connection()

            def run() -> None:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                conn.commit()

            await asyncio.to_thread(run)

    async def close(self) -> None:
        async with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            self.engine.dispose()
