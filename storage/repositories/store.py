"""The unit of work and the store that opens one transaction for it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.engine.ports import Lease, StorageUnavailable
from storage.db import BUSY_TIMEOUT_MS, POSTGRES_UNITS_AT_ONCE, sqlite_pragmas
from storage.driver import PostgresConnections, advisory_key
from storage.repositories.broadcasts import SqlBroadcastRepository
from storage.repositories.channel_state import SqlChannelStateRepository
from storage.repositories.citizens import SqlCitizenRepository, SqlConsentRepository
from storage.repositories.declarations import SqlDeclarationRepository
from storage.repositories.identities import SqlConversationRepository, SqlIdentityRepository
from storage.repositories.orgs import SqlOrgRepository
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
        self.orgs = SqlOrgRepository(conn)
        self.web = SqlWebRepository(conn)
        self.channel_state = SqlChannelStateRepository(conn)


def unavailable(exc: BaseException) -> bool:
    """Whether an error means the database cannot be used now (and may be later): it cannot be
    reached, it is locked past the busy timeout, its disk is full. Constraint violations and
    bad data are not such errors: they fail the same way every time."""
    if isinstance(exc, OperationalError | InterfaceError | OSError | TimeoutError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


class _Granted:
    async def alive(self) -> bool:
        return True

    async def release(self) -> None:
        return None


class _AdvisoryLease:
    """A session advisory lock, held as long as the session of its own connection lives.

    The proof that it is still held is that this session answers: "Once acquired at session
    level, an advisory lock is held until explicitly released or the session ends"
    (https://www.postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS), and only
    ``release`` unlocks it. So when ``alive`` says yes, the server ran a query of this session
    after ``alive`` was called, at a moment when no other session could hold the lock: it is
    exclusive, so ``pg_try_advisory_lock`` grants it to another session only once this one has
    ended: terminated with ``pg_terminate_backend``, its connection lost, its process killed
    (https://www.postgresql.org/docs/current/functions-admin.html#FUNCTIONS-ADVISORY-LOCKS).
    That is simpler and stricter than finding the lock in ``pg_locks`` from another connection
    (matching the pid recorded at acquisition, which can be reused, and the key's halves), and
    it costs one round trip on a connection that does nothing else (about 0.2 ms of CPU).
    Callers that ask together share one query; one started before a caller asked never
    answers for it. Once lost, it stays lost."""

    PROBE_TIMEOUT = 5.0  # a session that does not answer within this is taken as lost

    def __init__(self, conn: AsyncConnection, key: int) -> None:
        self._conn = conn
        self._key = key
        self._lock = asyncio.Lock()  # one query at a time on the connection
        self._probes = 0  # queries started
        self._held = True

    async def alive(self) -> bool:
        asked = self._probes
        async with self._lock:
            # every query started has ended (the lock is held while one runs): when one
            # started after this call, its answer is this call's answer
            if self._held and self._probes == asked:
                self._probes += 1
                try:
                    async with asyncio.timeout(self.PROBE_TIMEOUT):
                        await self._conn.exec_driver_sql("SELECT 1")
                except Exception:
                    self._held = False
            return self._held

    async def release(self) -> None:
        async with self._lock:
            held, self._held = self._held, False
            with contextlib.suppress(Exception):
                async with asyncio.timeout(self.PROBE_TIMEOUT):
                    if held:
                        await self._conn.execute(
                            text("SELECT pg_advisory_unlock(:key)"), {"key": self._key}
                        )
                    else:  # a lost session: its socket closed at once, not given back
                        await self._conn.invalidate()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(self.PROBE_TIMEOUT):
                    await self._conn.close()


class SqlStore:
    """Opens one transaction per unit of work: committed on success, rolled back on error.
    Errors that mean the database is unavailable become ``StorageUnavailable``. On SQLite the
    transactions go through the one writer connection (``storage/writer.py``)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._listeners: list[Callable[[], None]] = []
        self._writer: SqliteWriter | None = None
        self._postgres: PostgresConnections | None = None
        if engine.dialect.name != "sqlite":
            self._postgres = PostgresConnections(engine, size=POSTGRES_UNITS_AT_ONCE)
        else:
            busy = BUSY_TIMEOUT_MS.get(engine.sync_engine, 10_000)
            self._writer = SqliteWriter(str(engine.url), sqlite_pragmas(busy), busy)

    def add_commit_listener(self, listener: Callable[[], None]) -> None:
        """Called after each commit that wrote outbox rows the sender may send now (a message
        due at once, replies handed over, rows released): the senders wake on it, whoever
        committed (an update, the web console, a command)."""
        self._listeners.append(listener)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlUnitOfWork]:
        uow: SqlUnitOfWork | None = None
        try:
            if self._writer is not None:
                async with self._writer.transaction() as loop_conn:
                    uow = SqlUnitOfWork(loop_conn)  # type: ignore[arg-type]
                    yield uow
            elif self._postgres is not None:
                async with self._postgres.transaction() as conn:
                    uow = SqlUnitOfWork(conn)  # type: ignore[arg-type]
                    yield uow
        except StorageUnavailable:
            raise
        except Exception as exc:
            if unavailable(exc):
                raise StorageUnavailable(type(exc).__name__) from exc
            raise
        if uow is not None and uow.outbox.woke:
            for listener in self._listeners:
                listener()

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
            key = advisory_key(name)
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
        if self._postgres is not None:
            await self._postgres.close()
        await self.engine.dispose()
