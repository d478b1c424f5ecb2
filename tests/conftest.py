"""Shared fixtures: settings in a temporary data dir, a migrated database (SQLite, and
PostgreSQL when ``CDHT_TEST_POSTGRES_URL`` is set), the app, a conversation driver, and the
Telegram client libraries the Telegram tests run on.

Databases are migrated once per test session, not once per test (Alembic's upgrades, about
80 ms each, were a tenth of the suite's time): a new SQLite file is a copy of a template; the
PostgreSQL database is migrated once and emptied between tests. Each test still has a
database of its own, at head and empty but for what the migrations put there (the key of
``secret_keys``, drawn anew for each test as a new database draws it). The migrations' own
tests (tests/storage/) run Alembic themselves, as before.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sqlite3
import tempfile
from collections.abc import AsyncIterator
from contextlib import closing
from datetime import datetime
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import App, build_app
from bot.config import Settings
from storage import create_engine, upgrade
from storage.db import async_url
from tests.chat import Chat

POSTGRES_URL = os.environ.get("CDHT_TEST_POSTGRES_URL")

# The Telegram tests run on the default client library (CDHT_TELEGRAM_BACKEND's default);
# CDHT_TEST_TELEGRAM_BACKENDS=aiogram,ptb runs each of them on both (.ci/run sets it).
TELEGRAM_LIBRARIES = ("aiogram", "ptb")
DEFAULT_TELEGRAM_BACKEND = str(Settings.model_fields["telegram_backend"].default)


def telegram_backends(wanted: str | None) -> list[str]:
    """The client libraries named in ``wanted`` (comma-separated), else the default one."""
    named = [name.strip() for name in (wanted or "").split(",") if name.strip()]
    unknown = sorted(set(named) - set(TELEGRAM_LIBRARIES))
    if unknown:
        raise pytest.UsageError(
            f"CDHT_TEST_TELEGRAM_BACKENDS: unknown {', '.join(unknown)} "
            f"(known: {', '.join(TELEGRAM_LIBRARIES)})"
        )
    return list(dict.fromkeys(named)) or [DEFAULT_TELEGRAM_BACKEND]


TELEGRAM_BACKENDS = telegram_backends(os.environ.get("CDHT_TEST_TELEGRAM_BACKENDS"))


@pytest.fixture(params=TELEGRAM_BACKENDS)
def telegram_backend(request: pytest.FixtureRequest) -> str:
    """A Telegram test's client library (CDHT_TELEGRAM_BACKEND): the default one, or each of
    CDHT_TEST_TELEGRAM_BACKENDS."""
    return str(request.param)


def pytest_report_header() -> str:
    return f"telegram client libraries: {', '.join(TELEGRAM_BACKENDS)}"


def _new_sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL if it does not exist yet (in a folder that does)."""
    parsed = make_url(async_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    target = Path(str(parsed.database))
    return None if target.exists() or not target.parent.is_dir() else target


def _copy_database(template: Path, target: Path) -> None:
    """The template's copy, with a random key of its own (as migration 0011 draws one)."""
    shutil.copyfile(template, target)
    with closing(sqlite3.connect(target)) as db, db:
        db.execute("UPDATE secret_keys SET value = ?", (secrets.token_hex(32),))


class MigratedDatabases:
    """Databases at head without running Alembic for each test.

    - SQLite: one file migrated at the first use, in a folder of its own; a test's new
      database file is a copy of it (with its own random key).
    - PostgreSQL: migrated at the first use in the session; before each later test, every
      table but ``alembic_version`` is emptied and the sequences restarted, provided the schema
      is still the one migrated (same tables, same revision). A test that dropped or changed
      it (the migrations' and the cluster's tests do) gets it migrated again.
    """

    def __init__(self) -> None:
        self._folder: Path | None = None
        self._sqlite: Path | None = None
        # per PostgreSQL URL: (its tables, the revision), and the secret keys' rows
        self._postgres: dict[str, tuple[tuple[str, ...], str | None]] = {}
        self._keys: dict[str, list[tuple[str, datetime]]] = {}
        # the URLs of this test's ``database_url``, made at head and not started yet
        self.at_head: set[str] = set()

    # -- SQLite ----------------------------------------------------------------------------

    async def _sqlite_template(self) -> Path:
        if self._sqlite is None:
            folder = Path(tempfile.mkdtemp(prefix="cdht-test-template-"))
            path = folder / "template.sqlite3"
            engine = create_engine(f"sqlite+aiosqlite:///{path}")
            try:
                await upgrade(engine)
            finally:
                await engine.dispose()
            with closing(sqlite3.connect(path)) as db:  # everything in the one file
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._folder, self._sqlite = folder, path
        return self._sqlite

    async def seed(self, url: str) -> bool:
        """Make a SQLite database that does not exist yet as a copy of the template; True if
        done (the database is at head), False for anything else (left to Alembic)."""
        target = _new_sqlite_file(url)
        if target is None:
            return False
        _copy_database(await self._sqlite_template(), target)
        return True

    # -- PostgreSQL ------------------------------------------------------------------------

    @staticmethod
    async def _state(conn: asyncpg.Connection) -> tuple[tuple[str, ...], str | None]:
        tables = tuple(
            await conn.fetchval(
                "SELECT coalesce(array_agg(tablename::text ORDER BY tablename), '{}')"
                " FROM pg_tables WHERE schemaname = 'public'"
            )
        )
        revision = None
        if "alembic_version" in tables:
            revision = await conn.fetchval("SELECT max(version_num) FROM alembic_version")
        return tables, revision

    async def fresh_postgres(self, url: str) -> None:
        """The database at head with every table empty (but for the migrations' own rows)."""
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        conn = await asyncpg.connect(dsn)
        try:
            known = self._postgres.get(url)
            if known is not None and await self._state(conn) == known:
                await self._empty(conn, url, known[0])
                return
            await conn.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public")
            engine = create_engine(url)
            try:
                await upgrade(engine)
            finally:
                await engine.dispose()
            state = await self._state(conn)
            await self._check_seeds(conn, state[0])
            self._keys[url] = [
                (row["name"], row["created_at"])
                for row in await conn.fetch("SELECT name, created_at FROM secret_keys")
            ]
            self._postgres[url] = state
        finally:
            await conn.close()

    @staticmethod
    async def _check_seeds(conn: asyncpg.Connection, tables: tuple[str, ...]) -> None:
        """Emptying between tests restores only ``secret_keys``: a migration that writes rows
        elsewhere must be restored here too."""
        for table in tables:
            if table in ("alembic_version", "secret_keys"):
                continue
            if await conn.fetchval(f'SELECT EXISTS (SELECT 1 FROM "{table}")'):  # noqa: S608
                raise RuntimeError(
                    f"a migration writes rows in {table}: tests/conftest.py's "
                    "MigratedDatabases must put them back after emptying the tables"
                )

    async def _empty(self, conn: asyncpg.Connection, url: str, tables: tuple[str, ...]) -> None:
        emptied = [f'"{table}"' for table in tables if table != "alembic_version"]
        superuser = await conn.fetchval("SELECT current_setting('is_superuser') = 'on'")
        async with conn.transaction():
            if superuser:
                # DELETE with the foreign keys' triggers off: milliseconds, where TRUNCATE of
                # twenty tables takes a third of a second
                deletes = "".join(f"DELETE FROM {table};" for table in emptied)  # noqa: S608
                await conn.execute(f"SET LOCAL session_replication_role = replica;{deletes}")
            else:
                await conn.execute(f"TRUNCATE {', '.join(emptied)} RESTART IDENTITY CASCADE")
            await conn.execute(
                "SELECT setval(format('%I.%I', schemaname, sequencename)::regclass,"
                " start_value, false) FROM pg_sequences WHERE schemaname = 'public'"
            )
            await conn.executemany(
                "INSERT INTO secret_keys (name, value, created_at) VALUES ($1, $2, $3)",
                [(name, secrets.token_hex(32), made) for name, made in self._keys[url]],
            )

    def remove(self) -> None:
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = self._sqlite = None


DATABASES = MigratedDatabases()


def pytest_unconfigure(config: pytest.Config) -> None:
    DATABASES.remove()


async def reset_postgres(url: str) -> None:
    """An empty schema (no table at all), for tests that migrate it themselves."""
    DATABASES.at_head.discard(url)
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database of each backend, migrated and empty; PostgreSQL only where a server is
    configured. (tests/storage/ has its own: an empty schema, for the migrations' tests.)"""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}"
        await DATABASES.seed(url)
    elif POSTGRES_URL:
        url = POSTGRES_URL
        await DATABASES.fresh_postgres(url)
    else:
        pytest.skip("CDHT_TEST_POSTGRES_URL is not set")
    DATABASES.at_head.add(url)
    yield url
    DATABASES.at_head.discard(url)


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    # scripted users answer faster than people can: the flood limit has its own tests
    overrides.setdefault("flood_burst", 1000)
    # reminders and broadcasts wait out quiet hours (21:00–07:00 in Viet Nam): a test must
    # not pass or hang by the hour it runs at; the quiet hours have tests of their own
    overrides.setdefault("quiet_hours", None)
    return Settings(_env_file=None, data_dir=tmp_path, **overrides)  # type: ignore[arg-type]


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The command line's environment: run from an empty folder that holds its data, on
    SQLite (a module that needs more, PostgreSQL too, declares an ``env`` of its own)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CDHT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CDHT_DATABASE_URL", raising=False)
    return tmp_path


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


async def started_app(settings: Settings) -> App:
    """The app on a migrated database: the test's ``database_url`` is at head already, and
    a SQLite file that does not exist yet is made as the template's copy; anything else is
    migrated as ``cdht`` does it (a restart on the same database: Alembic finds it at head)."""
    url = settings.effective_database_url
    at_head = url in DATABASES.at_head or await DATABASES.seed(url)
    DATABASES.at_head.discard(url)  # its first start only: a test may change it afterwards
    app = build_app(settings)
    if not at_head:
        await app.migrate()
    return app


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[App]:
    """The app on SQLite (fast path for most conversation tests)."""
    app = await started_app(settings)
    yield app
    await app.close()


@pytest.fixture
async def any_app(tmp_path: Path, database_url: str) -> AsyncIterator[App]:
    """The app on each storage backend."""
    app = await started_app(make_settings(tmp_path, database_url=database_url))
    yield app
    await app.close()


@pytest.fixture
def chat(app: App) -> Chat:
    return Chat(app.engine)
