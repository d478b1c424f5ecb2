"""The storage's tests start from nothing: ``database_url`` is an empty database (no file, no
schema), and the migrations' tests run Alembic themselves, from the revision they test."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import POSTGRES_URL, reset_postgres


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Both backends, with no schema at all; PostgreSQL only where a server is configured."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}"
    if not POSTGRES_URL:
        pytest.skip("CDHT_TEST_POSTGRES_URL is not set")
    await reset_postgres(POSTGRES_URL)
    return POSTGRES_URL
