"""Alembic, driven from code on the application's own async engine."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.engine.ports import StorageUnavailable
from storage.repositories import unavailable

__all__ = [
    "alembic_config",
    "current_revision",
    "describe_url",
    "head_revision",
    "upgrade",
]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
MIGRATION_LOCK = 0x43444854_0001  # "CDHT" 1: PostgreSQL advisory lock key around upgrades


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply the migrations; ``StorageUnavailable`` when the database cannot be reached or
    opened."""

    def run(connection: Connection) -> None:
        command.upgrade(alembic_config(connection), revision)

    connected = False
    try:
        async with engine.begin() as conn:
            connected = True
            if conn.dialect.name == "postgresql":
                # Several processes starting at once migrate once: the others wait here, then
                # find the schema at head (a transaction-level lock, released at commit).
                await conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
            await conn.run_sync(run)
    except Exception as exc:
        # not connected at all: a server that is not there, a database that does not exist,
        # a refused password, a file that is not a database; each is one line at start
        if unavailable(exc) or not connected:
            raise StorageUnavailable(_reason(exc)) from exc
        raise


def _reason(exc: BaseException) -> str:
    """The first line of the driver's own message (no SQL, no parameters)."""
    cause = getattr(exc, "orig", None) or exc
    text = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    return f"{type(cause).__name__}: {text[:200]}" if text else type(cause).__name__


def describe_url(url: str) -> str:
    """A database URL fit for a message: the password hidden."""
    return make_url(url).render_as_string(hide_password=True)


async def current_revision(engine: AsyncEngine) -> str | None:
    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as conn:
        return await conn.run_sync(read)
