"""Chat accounts and their conversations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import LABEL_STYLE_TABLENAME_PLUS_COL, bindparam, delete, insert, select, update
from sqlalchemy.engine import RowMapping

from bot.domain.records import Citizen
from bot.engine.ports import Conversation, Identity
from storage.models import channel_state, citizens, conversations, identities, link_codes
from storage.repositories._base import Prepared, _Repo, prefetched, upsert
from storage.repositories._rows import _citizen, _identity

_BY_ACCOUNT = Prepared(
    lambda _: select(identities).where(
        identities.c.channel == bindparam("channel"),
        identities.c.external_id == bindparam("external_id"),
    )
)


def load_statement() -> Any:
    """What every update needs, in one statement: the account, its citizen and its
    conversation (each column labelled ``<table>_<column>``); on PostgreSQL the update's claim
    reads it too (``storage/repositories/updates.py``)."""
    return (
        select(identities, citizens, conversations)
        .select_from(
            identities.outerjoin(citizens, citizens.c.id == identities.c.citizen_id).outerjoin(
                conversations, conversations.c.identity_id == identities.c.id
            )
        )
        .where(
            identities.c.channel == bindparam("channel"),
            identities.c.external_id == bindparam("external_id"),
        )
        .set_label_style(LABEL_STYLE_TABLENAME_PLUS_COL)
    )


_LOAD = Prepared(lambda _: load_statement())
_CONVERSATION = Prepared(
    lambda _: select(conversations).where(conversations.c.identity_id == bindparam("identity_id"))
)
_SAVED = ["flow", "step", "collected", "history", "seq", "updated_at"]
# its values named (not left to the execution's columns), so that it can go in a WITH
_SAVE_CONVERSATION = Prepared(
    lambda dialect: upsert(dialect, conversations, ["identity_id"], _SAVED).values(
        {name: bindparam(name) for name in ["identity_id", *_SAVED]}
    )
)


_CREATE = Prepared(lambda _: insert(identities).returning(identities.c.id))
# one account's columns named by the parameters besides "identity_id" (compiled once per set)
_UPDATE = Prepared(lambda _: update(identities).where(identities.c.id == bindparam("identity_id")))
# each table's (column, label) of a row selected with LABEL_STYLE_TABLENAME_PLUS_COL
_LABELS = {
    table.name: tuple((column.name, f"{table.name}_{column.name}") for column in table.columns)
    for table in (identities, citizens, conversations)
}


def _columns(row: RowMapping, table: Any) -> dict[str, Any]:
    """A table's columns of a row selected with LABEL_STYLE_TABLENAME_PLUS_COL."""
    return {name: row[label] for name, label in _LABELS[table.name]}


def _conversation(row: Any) -> Conversation:
    return Conversation(
        row["identity_id"],
        row["flow"],
        row["step"],
        dict(row["collected"]),
        tuple(row["history"]),
        row["seq"],
    )


class SqlIdentityRepository(_Repo):
    async def get(self, channel: str, external_id: str) -> Identity | None:
        key = {"channel": channel, "external_id": external_id}
        row = (await self._conn.execute(_BY_ACCOUNT.of(self._conn), key)).mappings().first()
        return _identity(row) if row else None

    async def load(
        self, channel: str, external_id: str
    ) -> tuple[Identity | None, Citizen | None, Conversation | None]:
        row = prefetched(self._conn).pop(("load", channel, external_id), None)
        if row is None:
            key = {"channel": channel, "external_id": external_id}
            row = (await self._conn.execute(_LOAD.of(self._conn), key)).mappings().first()
        if row is None or row["identities_id"] is None:  # none, or the claim's row without one
            return None, None, None
        identity = _identity(_columns(row, identities))  # type: ignore[arg-type]
        citizen_row = _columns(row, citizens)
        conversation_row = _columns(row, conversations)
        return (
            identity,
            _citizen(citizen_row) if citizen_row["id"] is not None else None,  # type: ignore[arg-type]
            _conversation(conversation_row) if conversation_row["flow"] is not None else None,
        )

    async def create(self, channel: str, external_id: str, locale: str | None) -> Identity:
        row = {
            "channel": channel,
            "external_id": external_id,
            "locale": locale,
            "created_at": datetime.now(UTC),
        }
        result = await self._conn.execute(_CREATE.of(self._conn), row)
        return Identity(result.scalar_one(), channel, external_id, None, locale)

    async def set_locale(self, identity_id: int, locale: str) -> None:
        row = {"identity_id": identity_id, "locale": locale}
        await self._conn.execute(_UPDATE.of(self._conn), row)

    async def bind(self, identity_id: int, citizen_id: int) -> None:
        row = {"identity_id": identity_id, "citizen_id": citizen_id}
        await self._conn.execute(_UPDATE.of(self._conn), row)

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
        row = {"identity_id": identity_id, "menu": [list(item) for item in menu] if menu else None}
        await self._conn.execute(_UPDATE.of(self._conn), row)

    async def set_unreachable(self, identity_id: int, when: datetime | None) -> None:
        row = {"identity_id": identity_id, "unreachable_at": when}
        await self._conn.execute(_UPDATE.of(self._conn), row)

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
        """The citizen's accounts, and what their channels kept about each (``channel_state``
        keyed ``account:<external id>``: a Zalo OA's time of the user's last message)."""
        accounts = (
            await self._conn.execute(
                select(identities.c.channel, identities.c.external_id).where(
                    identities.c.citizen_id == citizen_id
                )
            )
        ).all()
        for channel, external_id in accounts:
            await self._conn.execute(
                delete(channel_state).where(
                    channel_state.c.channel == channel,
                    channel_state.c.key == f"account:{external_id}",
                )
            )
        await self._conn.execute(delete(identities).where(identities.c.citizen_id == citizen_id))

    async def add_link_code(
        self, code_hash: str, citizen_id: int, issued_by: str, now: datetime, expires_at: datetime
    ) -> None:
        # a citizen has one code at a time: asking again replaces the one not used yet
        await self._conn.execute(
            delete(link_codes).where(
                link_codes.c.citizen_id == citizen_id, link_codes.c.used_at.is_(None)
            )
        )
        await self._conn.execute(
            insert(link_codes).values(
                code_hash=code_hash,
                citizen_id=citizen_id,
                issued_by=issued_by,
                created_at=now,
                expires_at=expires_at,
            )
        )

    async def use_link_code(self, code_hash: str, used_by: str, now: datetime) -> int | None:
        # one conditional UPDATE, as for invitations: of two uses racing, one gets the row
        c = link_codes.c
        query = (
            update(link_codes)
            .where(c.code_hash == code_hash, c.used_at.is_(None), c.expires_at > now)
            .values(used_at=now, used_by=used_by)
            .returning(c.citizen_id)
        )
        found = (await self._conn.execute(query)).scalar()
        return None if found is None else int(found)


class SqlConversationRepository(_Repo):
    async def get(self, identity_id: int) -> Conversation | None:
        key = {"identity_id": identity_id}
        row = (await self._conn.execute(_CONVERSATION.of(self._conn), key)).mappings().first()
        return _conversation(row) if row is not None else None

    async def save(self, conversation: Conversation) -> None:
        # on PostgreSQL held to go with the next statement (the reply's insert, in one round
        # trip: ``PostgresConnection.execute_later``); elsewhere at once
        execute = getattr(self._conn, "execute_later", self._conn.execute)
        await execute(
            _SAVE_CONVERSATION.of(self._conn),
            {
                "identity_id": conversation.identity_id,
                "flow": conversation.flow,
                "step": conversation.step,
                "collected": conversation.values,
                "history": list(conversation.history),
                "seq": conversation.seq,
                "updated_at": datetime.now(UTC),
            },
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
