"""Repositories over one connection, one module per aggregate; they return plain records from
``bot.engine.ports``. ``SqlStore`` opens one transaction per unit of work."""

from storage.repositories.store import SqlStore, SqlUnitOfWork, unavailable

__all__ = ["SqlStore", "SqlUnitOfWork", "unavailable"]
