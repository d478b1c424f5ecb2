"""Updates handled once: the inbox and the processed update ids."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, String, bindparam, delete, func, literal_column, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert

from bot.engine.ports import InboxItem
from storage.models import inbox, processed_updates
from storage.repositories._base import Prepared, _Repo, ignoring

_HANDLED = Prepared(
    lambda _: select(processed_updates.c.update_id).where(
        processed_updates.c.channel == bindparam("channel"),
        processed_updates.c.update_id.in_(bindparam("ids", expanding=True)),
    )
)
_STORE = Prepared(lambda dialect: ignoring(dialect, inbox))
_TAKE_OUT = Prepared(
    lambda _: delete(inbox).where(
        inbox.c.channel == bindparam("channel"), inbox.c.update_id == bindparam("update_id")
    )
)
_CLAIM = Prepared(lambda dialect: ignoring(dialect, processed_updates))


def _lock_and_claim(_: str) -> Any:
    """PostgreSQL: one user's updates, one process at a time, until the transaction ends; the
    lock is taken before the row is inserted (the INSERT reads its one row from the CTE that
    locks), so a second process waits for the first to commit, then finds the update handled.
    One round trip instead of two on every update. Built with SQLAlchemy's constructs, not as
    text, so that it runs on the driver (``storage/driver.py``)."""
    key = func.hashtextextended(bindparam("key", type_=String), literal_column("0"))
    locked = select(func.pg_advisory_xact_lock(key).label("locked")).cte("locked")
    row = select(
        bindparam("channel", type_=String),
        bindparam("update_id", type_=String),
        bindparam("processed_at", type_=DateTime(timezone=True)),
    ).select_from(locked)
    columns = ["channel", "update_id", "processed_at"]
    claim = postgresql_insert(processed_updates).from_select(columns, row)
    return claim.on_conflict_do_nothing().add_cte(locked)


_LOCK_AND_CLAIM = Prepared(_lock_and_claim)


class SqlUpdateRepository(_Repo):
    async def receive(self, channel: str, items: Sequence[InboxItem], now: datetime) -> list[str]:
        if not items:
            return []
        ids = [item.update_id for item in items]
        found = await self._conn.execute(_HANDLED.of(self._conn), {"channel": channel, "ids": ids})
        handled = set(found.scalars())
        stored = []
        for item in items:
            if item.update_id in handled:
                continue
            row = {
                "channel": channel,
                "update_id": item.update_id,
                "user_id": item.user_id,
                "payload": item.payload,
                "received_at": now,
            }
            result = await self._conn.execute(_STORE.of(self._conn), row)
            if result.rowcount:
                stored.append(item.update_id)
        return stored

    async def backlog(self, channel: str, limit: int = 10_000) -> Sequence[InboxItem]:
        rows = await self._bulk.execute(
            select(inbox.c.update_id, inbox.c.user_id, inbox.c.payload)
            .where(inbox.c.channel == channel)
            .order_by(inbox.c.id)
            .limit(limit)
        )
        return [
            InboxItem(update_id, user_id, dict(payload)) for update_id, user_id, payload in rows
        ]

    async def earlier(self, channel: str, user_id: str, update_id: str) -> Sequence[InboxItem]:
        own = (
            select(inbox.c.id)
            .where(inbox.c.channel == channel, inbox.c.update_id == update_id)
            .scalar_subquery()
        )
        rows = await self._conn.execute(
            select(inbox.c.update_id, inbox.c.user_id, inbox.c.payload)
            .where(inbox.c.channel == channel, inbox.c.user_id == user_id, inbox.c.id < own)
            .order_by(inbox.c.id)
        )
        return [InboxItem(u, who, dict(payload)) for u, who, payload in rows]

    async def claim(
        self, channel: str, user_id: str, update_id: str, *, inboxed: bool = True
    ) -> bool:
        key = {"channel": channel, "update_id": update_id}
        row = {**key, "processed_at": datetime.now(UTC)}
        if self._conn.dialect.name == "postgresql":
            statement = _LOCK_AND_CLAIM.of(self._conn)
            result = await self._conn.execute(statement, {**row, "key": f"{channel}:{user_id}"})
        else:
            result = await self._conn.execute(_CLAIM.of(self._conn), row)
        if inboxed:
            await self._conn.execute(_TAKE_OUT.of(self._conn), key)
        return bool(result.rowcount)

    async def handled(self, channel: str, update_id: str) -> bool:
        key = {"channel": channel, "ids": [update_id]}  # only a file's update asks
        return (await self._conn.execute(_HANDLED.of(self._conn), key)).first() is not None

    async def take_out(self, channel: str, update_ids: Sequence[str]) -> None:
        params = [{"channel": channel, "update_id": update_id} for update_id in update_ids]
        if params:
            await self._conn.execute(_TAKE_OUT.of(self._conn), params)

    async def prune(self, older_than: datetime) -> int:
        result = await self._bulk.execute(
            delete(processed_updates).where(processed_updates.c.processed_at < older_than)
        )
        return int(result.rowcount or 0)
