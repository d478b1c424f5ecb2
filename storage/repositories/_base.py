"""What every repository shares: its connection, and the dialect's INSERT … ON CONFLICT."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.driver import DRIVER
from storage.writer import BULK


class _Bulk:
    """The connection, for statements whose size grows with the city (exports, reports, a
    broadcast's audience): on SQLite they run on a worker thread, not in the event loop's
    (``storage/writer.py``); elsewhere the option changes nothing."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def execute(self, statement: Any, parameters: Any = None) -> Any:
        return await self._conn.execute(statement.execution_options(**{BULK: True}), parameters)

    async def scalar(self, statement: Any, parameters: Any = None) -> Any:
        return await self._conn.scalar(statement.execution_options(**{BULK: True}), parameters)


class _Repo:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self._bulk = _Bulk(conn)


def prefetched(conn: Any) -> dict[Any, Any]:
    """What a repository read ahead in this transaction for another (PostgreSQL's
    ``PostgresConnection.prefetched``, emptied by any statement run since); nothing elsewhere."""
    found: dict[Any, Any] | None = getattr(conn, "prefetched", None)
    return found if found is not None else {}


def _insert_or_ignore(conn: AsyncConnection, table: Any) -> Any:
    """INSERT … ON CONFLICT DO NOTHING, in the connection's dialect."""
    insert_ = postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert
    return insert_(table).on_conflict_do_nothing()


class Prepared:
    """A statement built once per dialect and run with its parameters at execute time.

    Building a Core statement per call (``select(...).where(column == value)``,
    ``insert(...).values(**row)``) costs more than running it on SQLite: each call coerces its
    values into bound literals and computes the statement's cache key again (about 220 µs for
    an ``insert().values()`` of ten columns, profiled in bench/updates.py). A statement built
    once keeps its memoised cache key, so it finds its compiled form at once; the values go as
    parameters (``bindparam`` names, or the columns of an INSERT)."""

    def __init__(self, build: Any) -> None:
        self._build = build  # dialect name -> statement
        self._built: dict[str, Any] = {}

    def of(self, conn: AsyncConnection) -> Any:
        name = conn.dialect.name
        statement = self._built.get(name)
        if statement is None:
            # the driver may run it, compiled once (``storage/driver.py``)
            built = self._build(name).execution_options(**{DRIVER: True})
            statement = self._built[name] = built
        return statement


def upsert(dialect: str, table: Any, keys: Any, updated: Any) -> Any:
    """INSERT … ON CONFLICT (``keys``) DO UPDATE SET the ``updated`` columns."""
    insert_ = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = insert_(table)
    return statement.on_conflict_do_update(
        index_elements=list(keys), set_={name: statement.excluded[name] for name in updated}
    )


def ignoring(dialect: str, table: Any) -> Any:
    """INSERT … ON CONFLICT DO NOTHING, for a dialect's name."""
    insert_ = postgresql_insert if dialect == "postgresql" else sqlite_insert
    return insert_(table).on_conflict_do_nothing()
