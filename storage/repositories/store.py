"""The unit of work and the store that opens one transaction for it."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.engine.ports import Lease, StorageUnavailable
from storage.db import BUSY_TIMEOUT_MS, sqlite_pragmas
from storage.repositories.broadcasts import SqlBroadcastRepository
from storage.repositories.citizens import SqlCitizenRepository, SqlConsentRepository
from storage.repositories.declarations import SqlDeclarationRepository
from storage.repositories.identities import SqlConversationRepository, SqlIdentityRepository
from storage.repositories.outbox import SqlOutboxRepository
from storage.repositories.staff import SqlStaffRepository
from storage.repositories.updates import SqlUpdateRepository
from storage.repositories.web import SqlWebRepository
from storage.writer import SqliteWriter


class SqlUnitOfWork:
    def __init__(self, conn: AsyncConnection) -> None:
        self.updates = SqlUpdateRepository(conn)
        self.identities = SqlIdentityRepository(conn)
        self.conversations = SqlConversationRepository(conn)
        self.citizens = SqlCitizenRepository(conn)
        self.consents = SqlConsentRepository(conn)
        self.declarations = SqlDeclarationRepository(conn)
        self.staff = SqlStaffRepository(conn)
        self.outbox = SqlOutboxRepository(conn)
        self.broadcasts = SqlBroadcastRepository(conn)
        self.web = SqlWebRepository(conn)


def unavailable(exc: BaseException) -> bool:
    """Whether an error means the database cannot be used now (and may be later): it cannot be
    reached, it is locked past the busy timeout, its disk is full. Constraint violations and
    bad data are not such errors: they fail the same way every time."""
    if isinstance(exc, OperationalError | InterfaceError | OSError | TimeoutError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def _lock_key(name: str) -> int:
    """A stable 63-bit key for an advisory lock's name."""
    digest = hashlib.sha256(f"cdht:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


class _Granted:
    async def alive(self) -> bool:
        return True

    async def release(self) -> None:
        return None


class _AdvisoryLease:
    def __init__(self, conn: AsyncConnection, key: int) -> None:
        self._conn = conn
        self._key = key

    async def alive(self) -> bool:
        try:
            await self._conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def release(self) -> None:
        with contextlib.suppress(Exception):
            await self._conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self._key})
        with contextlib.suppress(Exception):
            await self._conn.close()


class SqlStore:
    """Opens one transaction per unit of work: committed on success, rolled back on error.
    Errors that mean the database is unavailable become ``StorageUnavailable``. On SQLite the
    transactions go through the one writer connection (``storage/writer.py``)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._writer: SqliteWriter | None = None
        if engine.dialect.name == "sqlite":
            busy = BUSY_TIMEOUT_MS.get(engine.sync_engine, 10_000)
            self._writer = SqliteWriter(str(engine.url), sqlite_pragmas(busy), busy)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlUnitOfWork]:
        try:
            if self._writer is not None:
                async with self._writer.transaction() as loop_conn:
                    yield SqlUnitOfWork(loop_conn)  # type: ignore[arg-type]
            else:
                async with self.engine.begin() as conn:
                    yield SqlUnitOfWork(conn)
        except StorageUnavailable:
            raise
        except Exception as exc:
            if unavailable(exc):
                raise StorageUnavailable(type(exc).__name__) from exc
            raise

    @property
    def shared(self) -> bool:
        return self._writer is None

    async def try_lease(self, name: str) -> Lease | None:
        """SQLite serves one process (``cdht run`` refuses a second): always granted. On
        PostgreSQL a session advisory lock on a connection of its own, in autocommit so that
        no transaction stays open for hours; it is released when the holder's connection ends,
        a killed process's included, which the others notice at their next try."""
        if self._writer is not None:
            return _Granted()
        conn = await self.engine.connect()
        try:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            key = _lock_key(name)
            got = await conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key})
        except BaseException:
            await conn.close()
            raise
        if not got:
            await conn.close()
            return None
        return _AdvisoryLease(conn, key)

    async def compact(self) -> None:
        """After an erasure: copy SQLite's write-ahead log into the file and empty it, so that
        erased rows (zeroed there by ``secure_delete``) are not left in old log frames."""
        if self._writer is not None:
            await self._writer.checkpoint()

    async def close(self) -> None:
        if self._writer is not None:
            await self._writer.close()
        await self.engine.dispose()
