"""SQL storage: tables, repositories, one transaction per unit of work, Alembic migrations."""

from storage.db import create_engine, is_sqlite
from storage.migrate import current_revision, describe_url, head_revision, upgrade
from storage.repositories import SqlStore, SqlUnitOfWork

__all__ = [
    "SqlStore",
    "SqlUnitOfWork",
    "create_engine",
    "current_revision",
    "describe_url",
    "head_revision",
    "is_sqlite",
    "upgrade",
]
