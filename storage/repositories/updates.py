"""Updates handled once: the inbox and the processed update ids."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, bindparam, delete, func, literal_column, select, true
from sqlalchemy.dialects.postgresql import insert as postgresql_insert

from bot.engine.ports import InboxItem
from storage.driver import advisory_key
from storage.models import inbox, processed_updates
from storage.repositories._base import Prepared, _Repo, ignoring, prefetched
from storage.repositories.identities import load_statement

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


_LOCK = Prepared(lambda _: select(func.pg_advisory_xact_lock(bindparam("key", type_=BigInteger))))


def _claim_and_load(_: str) -> Any:
    """PostgreSQL, the user's lock held (taken with the ``BEGIN``, or by ``_LOCK`` just
    before): the update's id recorded and what the update needs read (the account, citizen and
    conversation: ``load_statement``), in one round trip. A second delivery of the update
    waited for the lock and finds the id recorded (``claimed`` 0); the row comes back whether
    or not the account exists (its columns NULL when not). Built with SQLAlchemy's constructs,
    not as text, so that it runs on the driver (``storage/driver.py``)."""
    claim = (
        postgresql_insert(processed_updates)
        .values(
            channel=bindparam("channel"),
            update_id=bindparam("update_id"),
            processed_at=bindparam("processed_at"),
        )
        .on_conflict_do_nothing()
        .returning(processed_updates.c.update_id)
        .cte("claim")
    )
    claimed = select(func.count()).select_from(claim).scalar_subquery().label("claimed")
    loaded = load_statement().subquery("loaded")
    one = select(literal_column("1").label("one")).subquery("one")
    return select(claimed, *loaded.c).select_from(one.outerjoin(loaded, true()))


_CLAIM_AND_LOAD = Prepared(_claim_and_load)


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
        if self._conn.dialect.name != "postgresql":
            result = await self._conn.execute(_CLAIM.of(self._conn), row)
            if inboxed:
                await self._conn.execute(_TAKE_OUT.of(self._conn), key)
            return bool(result.rowcount)
        # one process at a time per user, until the transaction ends: the lock goes with the
        # BEGIN when this is the transaction's first statement (the engine's case)
        lock = advisory_key(f"user:{channel}:{user_id}")
        lock_at_begin = getattr(self._conn, "lock_at_begin", None)
        if lock_at_begin is None or not lock_at_begin(lock):
            await self._conn.execute(_LOCK.of(self._conn), {"key": lock})
        parameters = {**row, "external_id": user_id}
        result = await self._conn.execute(_CLAIM_AND_LOAD.of(self._conn), parameters)
        loaded = result.mappings().first()  # always one row
        assert loaded is not None
        if inboxed:
            await self._conn.execute(_TAKE_OUT.of(self._conn), key)  # the inbox only
        # for identities.load, the engine's next call
        prefetched(self._conn)[("load", channel, user_id)] = loaded
        return bool(loaded["claimed"])

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
