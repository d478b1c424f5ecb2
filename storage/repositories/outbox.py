"""The outbox: every message the bot sends, until it is delivered."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    any_,
    bindparam,
    delete,
    false,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.engine.ports import OutboxMessage, OutboxRow
from storage.models import citizens, identities, outbox
from storage.repositories._base import Prepared, _insert_or_ignore, _Repo
from storage.repositories._rows import BULK_KINDS, _outbox_row

_ADD = Prepared(lambda _: insert(outbox).returning(outbox.c.id))


def _delete(dialect: str) -> Any:
    """By their ids; on PostgreSQL one array parameter (``= ANY``), which the driver runs,
    rather than an expanding ``IN`` list, which only SQLAlchemy does."""
    if dialect == "postgresql":
        ids = bindparam("ids", type_=postgresql.ARRAY(BigInteger))
        return delete(outbox).where(outbox.c.id == any_(ids))
    return delete(outbox).where(outbox.c.id.in_(bindparam("ids", expanding=True)))


_DELETE = Prepared(_delete)


class SqlOutboxRepository(_Repo):
    """``woke``: this transaction wrote rows the sender may send now (a message due at once,
    rows rescheduled or released); the store then wakes the senders after the commit. A reply
    stored with its update is not due before its lease ends (the channel sends it itself), so
    it wakes no one."""

    def __init__(self, conn: AsyncConnection) -> None:
        super().__init__(conn)
        self.woke = False

    def _wrote(self, message: OutboxMessage, now: datetime) -> None:
        if message.not_before is None or message.not_before <= now:
            self.woke = True

    async def add(self, message: OutboxMessage, now: datetime) -> int:
        result = await self._conn.execute(_ADD.of(self._conn), self._values(message, now))
        self._wrote(message, now)
        return int(result.scalar_one())

    @staticmethod
    def _values(message: OutboxMessage, now: datetime) -> dict[str, Any]:
        return {
            "channel": message.channel,
            "external_id": message.external_id,
            "kind": message.kind,
            "priority": message.priority,
            "payload": message.payload,
            "status": "pending",
            "attempts": 0,
            "dedupe_key": message.dedupe_key,
            "not_before": message.not_before or now,
            "created_at": now,
            "citizen_id": message.subject_id,
        }

    async def enqueue(self, message: OutboxMessage, now: datetime) -> bool:
        values = self._values(message, now)
        if message.dedupe_key is None:
            await self._conn.execute(insert(outbox).values(**values))
            self._wrote(message, now)
            return True
        result = await self._conn.execute(_insert_or_ignore(self._conn, outbox).values(**values))
        if result.rowcount:
            self._wrote(message, now)
        return bool(result.rowcount)

    async def has_key(self, dedupe_key: str) -> bool:
        found = await self._conn.scalar(
            select(outbox.c.id).where(outbox.c.dedupe_key == dedupe_key)
        )
        return found is not None

    async def due(
        self,
        channel: str,
        now: datetime,
        limit: int,
        bulk: bool = True,
        external_id: str | None = None,
    ) -> Sequence[OutboxRow]:
        query = (
            select(outbox)
            .where(
                outbox.c.status == "pending",
                outbox.c.channel == channel,
                outbox.c.not_before <= now,
            )
            .order_by(outbox.c.priority, outbox.c.id)
            .limit(limit)
        )
        if not bulk:
            query = query.where(outbox.c.kind.not_in(BULK_KINDS))
        if external_id is not None:
            query = query.where(outbox.c.external_id == external_id)
        rows = (await self._conn.execute(query)).mappings()
        return [_outbox_row(row) for row in rows]

    async def mark_sent(self, row_id: int, now: datetime, via: str | None = None) -> None:
        await self._conn.execute(
            update(outbox)
            .where(outbox.c.id == row_id)
            .values(status="sent", sent_at=now, attempts=outbox.c.attempts + 1, sent_via=via)
        )

    async def delete(self, row_ids: Sequence[int]) -> None:
        if row_ids:
            await self._conn.execute(_DELETE.of(self._conn), {"ids": list(row_ids)})

    async def reschedule(self, row_ids: Sequence[int], not_before: datetime) -> None:
        if row_ids:
            await self._conn.execute(
                update(outbox)
                .where(outbox.c.id.in_(list(row_ids)), outbox.c.status == "pending")
                .values(not_before=not_before)
            )
            self.woke = True  # handed over to the sender (a reply the channel could not send)

    async def release(self, kind: str, now: datetime) -> int:
        result = await self._bulk.execute(
            update(outbox)
            .where(outbox.c.kind == kind, outbox.c.status == "pending", outbox.c.not_before > now)
            .values(not_before=now)
        )
        released = int(result.rowcount or 0)
        self.woke = self.woke or released > 0
        return released

    async def prune(self, kind: str, older_than: datetime) -> int:
        result = await self._bulk.execute(
            delete(outbox).where(
                outbox.c.kind == kind,
                outbox.c.status != "pending",
                outbox.c.created_at < older_than,
            )
        )
        return int(result.rowcount or 0)

    async def postpone(self, row_id: int, not_before: datetime, error: str) -> None:
        await self._conn.execute(
            update(outbox)
            # a row another process settled meanwhile (the new leader sent it) stays settled
            .where(outbox.c.id == row_id, outbox.c.status == "pending")
            .values(not_before=not_before, last_error=error[:200], attempts=outbox.c.attempts + 1)
        )

    async def fail(self, row_id: int, error: str) -> None:
        await self._conn.execute(
            update(outbox)
            .where(outbox.c.id == row_id, outbox.c.status == "pending")
            .values(status="failed", last_error=error[:200], attempts=outbox.c.attempts + 1)
        )

    async def locales(self, row_ids: Sequence[int]) -> dict[int, str]:
        if not row_ids:
            return {}
        query = (
            select(outbox.c.id, func.coalesce(identities.c.locale, citizens.c.locale))
            .select_from(
                outbox.join(
                    identities,
                    (identities.c.channel == outbox.c.channel)
                    & (identities.c.external_id == outbox.c.external_id),
                ).outerjoin(citizens, citizens.c.id == identities.c.citizen_id)
            )
            .where(outbox.c.id.in_(list(row_ids)))
        )
        return {row_id: locale for row_id, locale in await self._conn.execute(query) if locale}

    async def counts(self) -> dict[str, int]:
        rows = await self._bulk.execute(
            select(outbox.c.status, func.count()).group_by(outbox.c.status)
        )
        return {status: int(count) for status, count in rows}

    async def erase(self, citizen_id: int, accounts: Sequence[tuple[str, str]]) -> int:
        to_them = or_(
            false(),
            *(
                (outbox.c.channel == channel) & (outbox.c.external_id == external_id)
                for channel, external_id in accounts
            ),
        )
        settled_broadcast = (outbox.c.kind == "broadcast") & (outbox.c.status != "pending")
        removed = await self._conn.execute(
            delete(outbox).where(
                (outbox.c.citizen_id == citizen_id) | (to_them & ~settled_broadcast)
            )
        )
        kept = await self._conn.execute(
            update(outbox)
            .where(to_them & settled_broadcast)
            .values(external_id="", last_error=None)
        )
        return int(removed.rowcount or 0) + int(kept.rowcount or 0)
