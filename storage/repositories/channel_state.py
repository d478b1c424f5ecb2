"""What a channel keeps for itself (``channel_state``): one JSON value per key, written with
compare-and-set so that two processes never both replace the same value (a Zalo OA's
single-use refresh token is consumed once, and its new pair stored once)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update

from storage.models import channel_state
from storage.repositories._base import _insert_or_ignore, _Repo

__all__ = ["SqlChannelStateRepository", "Versioned"]

Versioned = tuple[dict[str, Any], int]  # a value and the version it was read at


class SqlChannelStateRepository(_Repo):
    async def get(self, channel: str, key: str) -> Versioned | None:
        row = (
            await self._conn.execute(
                select(channel_state.c.value, channel_state.c.version).where(
                    channel_state.c.channel == channel, channel_state.c.key == key
                )
            )
        ).first()
        return None if row is None else (dict(row.value), int(row.version))

    async def all(self, channel: str, prefix: str = "") -> dict[str, Versioned]:
        """Every key of the channel that starts with ``prefix``, with its value and version."""
        query = select(channel_state.c.key, channel_state.c.value, channel_state.c.version).where(
            channel_state.c.channel == channel,
            channel_state.c.key.startswith(prefix, autoescape=True),
        )
        rows = (await self._conn.execute(query)).all()
        return {row.key: (dict(row.value), int(row.version)) for row in rows}

    async def create(self, channel: str, key: str, value: Mapping[str, Any], now: datetime) -> bool:
        """Store a new key; False when it exists already (nothing changes then)."""
        statement = _insert_or_ignore(self._conn, channel_state).values(
            channel=channel, key=key, value=dict(value), version=1, updated_at=now
        )
        result = await self._conn.execute(statement)
        return bool(result.rowcount)

    async def replace(
        self,
        channel: str,
        key: str,
        value: Mapping[str, Any],
        version: int,
        now: datetime,
    ) -> bool:
        """Replace the value read at ``version``; False when someone wrote it since."""
        result = await self._conn.execute(
            update(channel_state)
            .where(
                channel_state.c.channel == channel,
                channel_state.c.key == key,
                channel_state.c.version == version,
            )
            .values(value=dict(value), version=version + 1, updated_at=now)
        )
        return bool(result.rowcount)

    async def put(self, channel: str, key: str, value: Mapping[str, Any], now: datetime) -> None:
        """Write a value whatever it was (last writer wins: a user's last message's time)."""
        if await self.create(channel, key, value, now):
            return
        await self._conn.execute(
            update(channel_state)
            .where(channel_state.c.channel == channel, channel_state.c.key == key)
            .values(value=dict(value), version=channel_state.c.version + 1, updated_at=now)
        )

    async def remove(self, channel: str, key: str) -> bool:
        result = await self._conn.execute(
            delete(channel_state).where(
                channel_state.c.channel == channel, channel_state.c.key == key
            )
        )
        return bool(result.rowcount)
