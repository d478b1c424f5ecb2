"""The hot statements run on the database driver itself, compiled once by SQLAlchemy.

Every update runs the same handful of statements (the claim, the load of account, citizen and
conversation, the conversation's upsert, the reply into the outbox). Through SQLAlchemy's
execution layer each one pays its parameter processing, compiled-cache lookup, result set-up
and events, and on PostgreSQL the async bridge (a greenlet per call): measured on this
project's 2-core machine, 170–175 µs of CPU a PostgreSQL statement through
``AsyncConnection.execute`` against 70–100 µs on asyncpg's own connection
(``bench/e2e.py --profile`` shows it as the "sqlalchemy" layer). So a statement built once
(``Prepared``) is compiled here once per dialect and set of parameter names, with SQLAlchemy's
own compiler, and run on the DB-API cursor (SQLite) or the asyncpg connection (PostgreSQL),
with the types' own bind and result processors (``TypeEngine.bind_processor`` and
``result_processor``, the public hooks SQLAlchemy itself applies): the SQL, the values stored and
the values read are what SQLAlchemy would have produced. ``tests/storage/test_driver.py``
compares both paths statement by statement on both databases, so that a SQLAlchemy release that
changes them fails there.

What does not qualify runs through SQLAlchemy as before: a statement with an expanding ``IN``
list, several rows of parameters at once, a column default computed in Python, textual SQL.

On PostgreSQL the transaction is sent on asyncpg's connection (its BEGIN with the first
statement, then COMMIT or ROLLBACK: ``PostgresConnection``, ``PostgresConnections``), on a
connection SQLAlchemy's pool hands out in autocommit mode: what runs through
SQLAlchemy then starts no transaction of its own (its asyncpg adapter begins one only outside
autocommit) and runs inside asyncpg's. Through SQLAlchemy's ``engine.begin()`` the BEGIN, the
first statement and the COMMIT each paid its async bridge: an update's transaction, ten at once
in one process (``bench/pg_transaction.py``, 4 rounds interleaved, min / median), cost 459 / 483
µs of CPU so, 321 / 392 this way, 269 / 304 on asyncpg's own pool with nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Dialect

from bot.engine.ports import StorageUnavailable

__all__ = [
    "DRIVER",
    "Compiled",
    "DriverResult",
    "PostgresConnection",
    "PostgresConnections",
    "advisory_key",
    "arguments",
    "compiled_for",
    "driver_error",
]

DRIVER = "cdht_driver"  # execution option: a statement built once, which may run on the driver

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True, slots=True)
class Compiled:
    sql: str
    names: tuple[str, ...]  # the parameters' names, in the order of the placeholders
    binds: tuple[Processor, ...]  # each parameter's bind processor
    results: tuple[Processor, ...]  # each result column's result processor
    returns_rows: bool


_UNSUITED = object()
_cache: dict[tuple[int, str, tuple[str, ...]], tuple[Any, Any]] = {}


def compiled_for(statement: Any, dialect: Dialect, keys: Sequence[str]) -> Compiled | None:
    """The statement compiled for ``dialect`` with these parameter names, or None when it must
    run through SQLAlchemy. Cached by the statement's identity: only statements built once
    (``Prepared``, which keeps them alive) carry the ``DRIVER`` option."""
    key = (id(statement), dialect.name, tuple(sorted(keys)))
    found = _cache.get(key)
    if found is None:
        # the statement is kept with its compiled form: its id is never another's
        found = _cache[key] = (statement, _compile(statement, dialect, key[2]) or _UNSUITED)
    compiled = found[1]
    return compiled if isinstance(compiled, Compiled) else None


def _compile(statement: Any, dialect: Dialect, keys: tuple[str, ...]) -> Compiled | None:
    if getattr(statement, "exported_columns", None) is None:
        return None  # textual SQL: its columns are not known
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))
    names = compiled.positiontup
    if names is None or any(bind.expanding for bind in compiled.binds.values()):
        return None
    if getattr(compiled, "insert_prefetch", None) or getattr(compiled, "update_prefetch", None):
        return None  # a default computed in Python: SQLAlchemy computes it
    if any(name not in keys for name in names):
        return None  # a parameter with a value of its own (a literal bound at build time)
    binds = tuple(
        compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names
    )
    returning = compiled.effective_returning
    columns = list(statement.exported_columns) if statement.is_select else list(returning or [])
    results = tuple(
        column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
    )
    return Compiled(compiled.string, tuple(names), binds, results, bool(columns))


def arguments(compiled: Compiled, parameters: Mapping[str, Any]) -> list[Any]:
    return [
        value if process is None else process(value)
        for value, process in zip(
            (parameters[name] for name in compiled.names), compiled.binds, strict=True
        )
    ]


def driver_error(exc: Exception, dbapi_base: type[Exception]) -> Exception:
    """A DB-API error as SQLAlchemy raises it (``OperationalError``, ``IntegrityError`` …), so
    that ``storage.repositories.store.unavailable`` and the callers read it the same way; no
    parameters in its text (they may be personal data)."""
    from sqlalchemy.exc import DBAPIError

    return DBAPIError.instance(None, None, exc, dbapi_base, hide_parameters=True)


def _postgres_error(exc: Exception) -> Exception:
    """An error of PostgreSQL's from asyncpg as SQLAlchemy's asyncpg dialect raises it: its
    classes by asyncpg's (``AsyncAdapt_asyncpg_dbapi``: a constraint's violation is
    ``IntegrityError``, a statement the server refuses ``ProgrammingError``, an internal error
    ``InternalError``, anything else ``DBAPIError``)."""
    import asyncpg  # type: ignore[import-untyped]
    from sqlalchemy import exc as sa

    kind: type[sa.DBAPIError] = sa.DBAPIError
    if isinstance(exc, asyncpg.exceptions.IntegrityConstraintViolationError):
        kind = sa.IntegrityError
    elif isinstance(exc, asyncpg.exceptions.SyntaxOrAccessError):
        kind = sa.ProgrammingError
    elif isinstance(exc, asyncpg.exceptions.InternalServerError):
        kind = sa.InternalError
    return kind(None, None, exc, hide_parameters=True)


class DriverResult:
    """The part of SQLAlchemy's ``Result`` that the statements built once are read with."""

    def __init__(
        self, compiled: Compiled, keys: Sequence[str], rows: Sequence[Sequence[Any]], count: int
    ) -> None:
        self._keys = tuple(keys)
        self._rows = [
            tuple(v if p is None else p(v) for v, p in zip(row, compiled.results, strict=True))
            for row in rows
        ]
        self.rowcount = count

    def mappings(self) -> _Mappings:
        return _Mappings([dict(zip(self._keys, row, strict=True)) for row in self._rows])

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None

    def scalar_one(self) -> Any:
        if len(self._rows) != 1:
            raise LookupError(f"expected one row, got {len(self._rows)}")
        return self._rows[0][0]


class _Mappings:
    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self._rows = rows

    def first(self) -> dict[str, Any] | None:
        return self._rows[0] if self._rows else None


class PostgresConnection:
    """The part of ``AsyncConnection`` the repositories use, over SQLAlchemy's connection: a
    statement marked ``DRIVER`` runs on asyncpg's connection, in the transaction opened on it.

    The transaction begins with its first statement (a unit of work that runs none sends
    nothing), and a user's lock asked for before it (``lock_at_begin``) goes in the same
    message as the ``BEGIN``: one round trip for both, and the statements after it read what
    was committed before the lock was granted. ``prefetched`` holds what one repository read
    ahead for another (the update's claim reads the account, citizen and conversation); any
    statement run empties it, so what is found there is still what the database holds."""

    def __init__(self, conn: Any, driver: Any) -> None:
        self._conn = conn
        self.dialect = conn.dialect
        self.driver = driver
        self.begun = False
        self.prefetched: dict[Any, Any] = {}
        self._lock: int | None = None
        self._later: tuple[Any, dict[str, Any]] | None = None

    def lock_at_begin(self, key: int) -> bool:
        """Take the advisory transaction lock ``key`` with the ``BEGIN``; False once the
        transaction has begun (the caller then takes it with a statement of its own)."""
        if self.begun:
            return False
        self._lock = key
        return True

    async def begin(self) -> None:
        # one simple query, two statements: each takes its own snapshot in READ COMMITTED, so
        # the next statement sees what the lock's previous holder committed. The key is an int
        # made here (``advisory_key``), never text from outside.
        sql = (
            "BEGIN"
            if self._lock is None
            else f"BEGIN; SELECT pg_advisory_xact_lock({self._lock:d})"
        )
        self.begun = True
        await _on_driver(self.driver.execute(sql))

    async def execute_later(self, statement: Any, parameters: dict[str, Any]) -> None:
        """A write whose result nobody reads, held to go with the next statement in one round
        trip when that one is an INSERT of values into another table (``_joined``: a
        data-modifying ``WITH``); else sent on its own before it, or before the COMMIT."""
        await self.flush()
        if self.prefetched:
            self.prefetched.clear()
        self._later = (statement, parameters)

    async def flush(self) -> None:
        """Send the write held by ``execute_later``, if any."""
        if self._later is not None:
            statement, parameters = self._later
            self._later = None
            await self._execute(statement, parameters)

    async def execute(self, statement: Any, parameters: Any = None) -> Any:
        if self._later is not None:
            held, held_parameters = self._later
            joined = _joined(held, held_parameters, statement, parameters)
            self._later = None
            if joined is not None:
                return await self._execute(joined, {**held_parameters, **parameters})
            await self._execute(held, held_parameters)
        return await self._execute(statement, parameters)

    async def _execute(self, statement: Any, parameters: Any) -> Any:
        if not self.begun:
            await self.begin()
        if self.prefetched:
            self.prefetched.clear()
        if statement.get_execution_options().get(DRIVER) and isinstance(parameters, dict):
            compiled = compiled_for(statement, self.dialect, list(parameters))
            if compiled is not None:
                return await _on_asyncpg(self.driver, compiled, parameters)
        return await self._conn.execute(statement, parameters)

    async def scalar(self, statement: Any, parameters: Any = None) -> Any:
        return (await self.execute(statement, parameters)).scalar()


_joins: dict[tuple[int, int], tuple[Any, Any, Any]] = {}


def _joined(held: Any, held_parameters: Any, statement: Any, parameters: Any) -> Any | None:
    """``WITH held AS (…) statement``, when that is the same as running the two one after the
    other: ``statement`` an INSERT of values (it reads nothing, so it cannot miss what ``held``
    writes, which a statement's reads would: both see the snapshot taken before either ran) into
    another table, both built once for the driver, with no parameter name in common. Cached by
    the two statements' identities (kept alive with it)."""
    if not isinstance(parameters, dict):
        return None
    key = (id(held), id(statement))
    found = _joins.get(key)
    if found is None:
        joined = None
        suits = (
            statement.get_execution_options().get(DRIVER)
            and getattr(statement, "is_insert", False)
            and getattr(statement, "select", None) is None  # VALUES, not INSERT … SELECT
            and statement.table is not held.table
        )
        if suits:
            joined = statement.add_cte(held.cte("held")).execution_options(**{DRIVER: True})
        found = _joins[key] = (held, statement, joined)
    if found[2] is None or held_parameters.keys() & parameters.keys():
        return None
    return found[2]


def advisory_key(name: str) -> int:
    """A stable 63-bit key for a PostgreSQL advisory lock's name (the same in every process)."""
    digest = hashlib.sha256(f"cdht:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def _translated(exc: Exception) -> Exception | None:
    """What an asyncpg error is raised as: ``StorageUnavailable`` when the database cannot be
    used now (what SQLAlchemy's asyncpg dialect reports as a disconnect or an operational
    error), else an error of the server's as SQLAlchemy raises it; None for anything else."""
    import asyncpg

    lost = (
        asyncpg.InterfaceError  # the connection is closed
        | asyncpg.PostgresConnectionError  # lost (ConnectionDoesNotExistError)
        | asyncpg.exceptions.OperatorInterventionError  # terminated, shutting down
        | asyncpg.exceptions.InsufficientResourcesError  # a full disk, too many connections
        | OSError
        | TimeoutError
    )
    if isinstance(exc, lost):
        return StorageUnavailable(type(exc).__name__)
    if isinstance(exc, asyncpg.PostgresError):  # bad data, a constraint: fails the same again
        return _postgres_error(exc)
    return None


class PostgresConnections:
    """The units of work's connections: taken from SQLAlchemy's pool once each, set to autocommit
    once, and kept, each with its asyncpg connection, for the next unit of work.

    Checking a connection out of SQLAlchemy's pool for every unit of work, setting its isolation
    level and reaching its driver connection cost four trips through SQLAlchemy's async bridge (a
    greenlet each) and the pool's check-in with its reset, and the pool's overflow connections
    were opened and closed again under load (441 connections made in one run of 14,000 updates,
    profiled with ``bench/e2e.py --profile``). Kept instead, measured end to end on this
    project's 2-core machine (1,000 users, 3 rounds interleaved, medians): 1.48 → 1.17 ms of the
    bot's CPU an update, 646 → 814 updates/s. At most ``size``
    units of work run at once; the others wait their turn (as they waited for the pool). A
    connection lost on the way is invalidated and not kept; one older than ``recycle`` seconds is
    given back to SQLAlchemy's pool (whose ``pool_recycle`` replaces it) instead of being kept."""

    def __init__(self, engine: Any, size: int, recycle: float = 1800.0) -> None:
        self._engine = engine
        self._free = asyncio.Semaphore(size)
        self._idle: list[tuple[Any, Any, float]] = []  # (SQLAlchemy's connection, asyncpg's, made)
        self._recycle = recycle
        self._closed = False

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PostgresConnection]:
        """A transaction of asyncpg's own on a kept connection in autocommit mode (see the
        module's text). A connection lost on the way is ``StorageUnavailable`` and is not kept
        (invalidated, as SQLAlchemy does with a disconnect it sees itself); an error of the
        server's that would fail the same way again is raised as SQLAlchemy raises it."""
        async with self._free:
            conn, driver, made = self._idle.pop() if self._idle else await self._connect()
            unit = PostgresConnection(conn, driver)
            try:
                try:
                    try:
                        yield unit
                        await unit.flush()
                        if unit.begun:
                            await driver.execute("COMMIT")
                    except BaseException:
                        if unit.begun and not driver.is_closed() and driver.is_in_transaction():
                            with contextlib.suppress(Exception):
                                await driver.execute("ROLLBACK")
                        raise
                except Exception as exc:
                    translated = _translated(exc)  # at BEGIN or COMMIT; a statement's already is
                    if driver.is_closed() or isinstance(translated, StorageUnavailable):
                        await conn.invalidate()
                        if isinstance(exc, StorageUnavailable):
                            raise
                        raise translated or StorageUnavailable(type(exc).__name__) from exc
                    if translated is not None:
                        raise translated from exc
                    raise
            finally:
                if not driver.is_closed() and driver.is_in_transaction():
                    await conn.invalidate()  # cancelled mid-transaction: never left open
                old = time.monotonic() - made >= self._recycle
                if self._closed or old or conn.invalidated or driver.is_closed():
                    await conn.close()  # back to SQLAlchemy's pool (an invalidated one too)
                else:
                    self._idle.append((conn, driver, made))

    async def _connect(self) -> tuple[Any, Any, float]:
        conn = await self._engine.connect()
        try:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            driver = (await conn.get_raw_connection()).driver_connection
        except BaseException:
            await conn.close()
            raise
        return conn, driver, time.monotonic()

    async def close(self) -> None:
        """Gives the kept connections back to SQLAlchemy's pool (before ``engine.dispose()``)."""
        self._closed = True
        idle, self._idle = self._idle, []
        for conn, _, _ in idle:
            with contextlib.suppress(Exception):
                await conn.close()


async def _on_driver(call: Awaitable[Any]) -> Any:
    """An asyncpg call's result; its error as ``_translated`` says (``StorageUnavailable`` or
    SQLAlchemy's class), with the original chained."""
    try:
        return await call
    except Exception as exc:
        translated = _translated(exc)
        if translated is None:
            raise
        raise translated from exc


async def _on_asyncpg(driver: Any, compiled: Compiled, parameters: Mapping[str, Any]) -> Any:
    values = arguments(compiled, parameters)
    if compiled.returns_rows:
        records = await _on_driver(driver.fetch(compiled.sql, *values))
        keys = list(records[0].keys()) if records else []
        return DriverResult(compiled, keys, [tuple(r) for r in records], len(records))
    status = await _on_driver(driver.execute(compiled.sql, *values))  # e.g. "INSERT 0 1"
    count = status.rpartition(" ")[2]
    return DriverResult(compiled, [], [], int(count) if count.isdigit() else -1)
