"""Chat accounts and their conversations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select, update

from bot.engine.ports import Conversation, Identity
from storage.models import conversations, identities
from storage.repositories._base import _Repo
from storage.repositories._rows import _identity


class SqlIdentityRepository(_Repo):
    async def get(self, channel: str, external_id: str) -> Identity | None:
        row = (
            (
                await self._conn.execute(
                    select(identities).where(
                        identities.c.channel == channel, identities.c.external_id == external_id
                    )
                )
            )
            .mappings()
            .first()
        )
        return _identity(row) if row else None

    async def create(self, channel: str, external_id: str, locale: str | None) -> Identity:
        result = await self._conn.execute(
            insert(identities)
            .values(
                channel=channel,
                external_id=external_id,
                locale=locale,
                created_at=datetime.now(UTC),
            )
            .returning(identities.c.id)
        )
        return Identity(result.scalar_one(), channel, external_id, None, locale)

    async def set_locale(self, identity_id: int, locale: str) -> None:
        await self._conn.execute(
            update(identities).where(identities.c.id == identity_id).values(locale=locale)
        )

    async def bind(self, identity_id: int, citizen_id: int) -> None:
        await self._conn.execute(
            update(identities).where(identities.c.id == identity_id).values(citizen_id=citizen_id)
        )

    async def delete(self, identity_id: int) -> None:
        await self._conn.execute(delete(identities).where(identities.c.id == identity_id))

    async def set_opt_out(self, identity_id: int, when: datetime | None) -> None:
        await self._conn.execute(
            update(identities).where(identities.c.id == identity_id).values(opted_out_at=when)
        )

    async def mark_unreachable(self, channel: str, external_id: str, when: datetime) -> None:
        await self._conn.execute(
            update(identities)
            .where(identities.c.channel == channel, identities.c.external_id == external_id)
            .values(unreachable_at=when)
        )

    async def set_menu(self, identity_id: int, menu: Sequence[tuple[str, str, str]] | None) -> None:
        await self._conn.execute(
            update(identities)
            .where(identities.c.id == identity_id)
            .values(menu=[list(item) for item in menu] if menu else None)
        )

    async def set_unreachable(self, identity_id: int, when: datetime | None) -> None:
        await self._conn.execute(
            update(identities).where(identities.c.id == identity_id).values(unreachable_at=when)
        )

    async def for_citizen(self, citizen_id: int) -> Sequence[Identity]:
        rows = (
            await self._conn.execute(
                select(identities)
                .where(identities.c.citizen_id == citizen_id)
                .order_by(identities.c.id)
            )
        ).mappings()
        return [_identity(row) for row in rows]

    async def delete_for_citizen(self, citizen_id: int) -> None:
        await self._conn.execute(delete(identities).where(identities.c.citizen_id == citizen_id))


class SqlConversationRepository(_Repo):
    async def get(self, identity_id: int) -> Conversation | None:
        row = (
            (
                await self._conn.execute(
                    select(conversations).where(conversations.c.identity_id == identity_id)
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        return Conversation(
            row["identity_id"],
            row["flow"],
            row["step"],
            dict(row["collected"]),
            tuple(row["history"]),
            row["seq"],
        )

    async def save(self, conversation: Conversation) -> None:
        values: dict[str, Any] = {
            "flow": conversation.flow,
            "step": conversation.step,
            "collected": conversation.values,
            "history": list(conversation.history),
            "seq": conversation.seq,
            "updated_at": datetime.now(UTC),
        }
        result = await self._conn.execute(
            update(conversations)
            .where(conversations.c.identity_id == conversation.identity_id)
            .values(**values)
        )
        if not result.rowcount:
            await self._conn.execute(
                insert(conversations).values(identity_id=conversation.identity_id, **values)
            )

    async def delete(self, identity_id: int) -> None:
        await self._conn.execute(
            delete(conversations).where(conversations.c.identity_id == identity_id)
        )

    async def in_flow(self, flow: str) -> Sequence[tuple[Identity, Conversation]]:
        rows = (
            await self._conn.execute(
                select(identities, conversations)
                .join(conversations, conversations.c.identity_id == identities.c.id)
                .where(conversations.c.flow == flow)
            )
        ).mappings()
        return [
            (
                _identity(row),
                Conversation(
                    row["identity_id"],
                    row["flow"],
                    row["step"],
                    dict(row["collected"]),
                    tuple(row["history"]),
                    row["seq"],
                ),
            )
            for row in rows
        ]
