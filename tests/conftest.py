"""Shared fixtures: settings in a temporary data dir, a migrated database (SQLite, and
PostgreSQL when ``CDHT_TEST_POSTGRES_URL`` is set), the app, and a conversation driver."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import App, build_app
from bot.config import Settings
from tests.chat import Chat

POSTGRES_URL = os.environ.get("CDHT_TEST_POSTGRES_URL")


async def reset_postgres(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Both backends; PostgreSQL only where a server is configured."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}"
    if not POSTGRES_URL:
        pytest.skip("CDHT_TEST_POSTGRES_URL is not set")
    await reset_postgres(POSTGRES_URL)
    return POSTGRES_URL


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    # scripted users answer faster than people can: the flood limit has its own tests
    overrides.setdefault("flood_burst", 1000)
    return Settings(_env_file=None, data_dir=tmp_path, **overrides)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


async def started_app(settings: Settings) -> App:
    app = build_app(settings)
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
