"""Updates handled once: the inbox and the processed update ids."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import delete, select

from bot.engine.ports import InboxItem
from storage.models import inbox, processed_updates
from storage.repositories._base import _insert_or_ignore, _Repo


class SqlUpdateRepository(_Repo):
    async def receive(self, channel: str, items: Sequence[InboxItem], now: datetime) -> list[str]:
        if not items:
            return []
        ids = [item.update_id for item in items]
        handled = set(
            (
                await self._conn.execute(
                    select(processed_updates.c.update_id).where(
                        processed_updates.c.channel == channel,
                        processed_updates.c.update_id.in_(ids),
                    )
                )
            ).scalars()
        )
        stored = []
        for item in items:
            if item.update_id in handled:
                continue
            result = await self._conn.execute(
                _insert_or_ignore(self._conn, inbox).values(
                    channel=channel,
                    update_id=item.update_id,
                    user_id=item.user_id,
                    payload=item.payload,
                    received_at=now,
                )
            )
            if result.rowcount:
                stored.append(item.update_id)
        return stored

    async def backlog(self, channel: str, limit: int = 10_000) -> Sequence[InboxItem]:
        rows = await self._conn.execute(
            select(inbox.c.update_id, inbox.c.user_id, inbox.c.payload)
            .where(inbox.c.channel == channel)
            .order_by(inbox.c.id)
            .limit(limit)
        )
        return [
            InboxItem(update_id, user_id, dict(payload)) for update_id, user_id, payload in rows
        ]

    async def claim(self, channel: str, update_id: str) -> bool:
        await self._conn.execute(
            delete(inbox).where(inbox.c.channel == channel, inbox.c.update_id == update_id)
        )
        result = await self._conn.execute(
            _insert_or_ignore(self._conn, processed_updates).values(
                channel=channel, update_id=update_id, processed_at=datetime.now(UTC)
            )
        )
        return bool(result.rowcount)

    async def prune(self, older_than: datetime) -> int:
        result = await self._conn.execute(
            delete(processed_updates).where(processed_updates.c.processed_at < older_than)
        )
        return int(result.rowcount or 0)
