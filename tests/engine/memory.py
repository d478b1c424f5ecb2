"""An in-memory store for the engine's narrow ports (``bot.engine.ports``): the inbox and the
handled update ids, accounts, conversations and the outbox, with real transactions (a block
that raises leaves nothing behind) and nothing of the campaign's domain or of SQL.

It proves the engine runs on its own ports alone (tests/engine/test_toy_flow.py). Values go
through JSON as the SQL store's columns do, so a flow that keeps what a database could not
fails here too. One transaction at a time, like SQLite's one writer.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from bot.engine.ports import (
    Conversation,
    Identity,
    InboxItem,
    OutboxMessage,
    OutboxRow,
)

__all__ = ["Member", "MemoryStore", "MemoryUnitOfWork", "Tables"]

BULK_KINDS = ("broadcast", "reminder")


@dataclass(frozen=True, slots=True)
class Member:
    """Who an account is enrolled as, for a flow that has no domain: only a language."""

    locale: str


@dataclass(slots=True)
class _Outboxed:
    id: int
    message: OutboxMessage
    created_at: datetime
    not_before: datetime
    attempts: int = 0
    status: str = "pending"
    last_error: str | None = None


@dataclass(slots=True)
class Tables:
    """The whole state: what a transaction copies at its start and puts back at its commit."""

    next_id: int = 1
    inbox: list[tuple[str, InboxItem]] = field(default_factory=list)  # (channel, item)
    handled: dict[tuple[str, str], datetime] = field(default_factory=dict)
    identities: dict[int, Identity] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)  # by identity id
    conversations: dict[int, Conversation] = field(default_factory=dict)
    outbox: dict[int, _Outboxed] = field(default_factory=dict)

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1


def _json(value: Any) -> Any:
    """What a JSON column gives back (tuples become lists; anything else raises)."""
    return json.loads(json.dumps(value))


class _Updates:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    async def receive(self, channel: str, items: Sequence[InboxItem], now: datetime) -> list[str]:
        stored = []
        waiting = {(c, item.update_id) for c, item in self._t.inbox}
        for item in items:
            key = (channel, item.update_id)
            if key in self._t.handled or key in waiting:
                continue
            self._t.inbox.append((channel, replace(item, payload=_json(item.payload))))
            waiting.add(key)
            stored.append(item.update_id)
        return stored

    async def backlog(self, channel: str, limit: int = 10_000) -> Sequence[InboxItem]:
        return [item for c, item in self._t.inbox if c == channel][:limit]

    async def earlier(self, channel: str, user_id: str, update_id: str) -> Sequence[InboxItem]:
        mine = [item for c, item in self._t.inbox if c == channel and item.user_id == user_id]
        ids = [item.update_id for item in mine]
        return mine[: ids.index(update_id)] if update_id in ids else []

    async def claim(
        self, channel: str, user_id: str, update_id: str, *, inboxed: bool = True
    ) -> bool:
        """The lock: one transaction at a time already (the store's lock)."""
        if inboxed:
            self._t.inbox = [
                (c, item)
                for c, item in self._t.inbox
                if (c, item.update_id) != (channel, update_id)
            ]
        if (channel, update_id) in self._t.handled:
            return False
        self._t.handled[(channel, update_id)] = datetime.now().astimezone()
        return True

    async def handled(self, channel: str, update_id: str) -> bool:
        return (channel, update_id) in self._t.handled

    async def take_out(self, channel: str, update_ids: Sequence[str]) -> None:
        gone = {(channel, update_id) for update_id in update_ids}
        self._t.inbox = [(c, item) for c, item in self._t.inbox if (c, item.update_id) not in gone]

    async def prune(self, older_than: datetime) -> int:
        old = [key for key, when in self._t.handled.items() if when < older_than]
        for key in old:
            del self._t.handled[key]
        return len(old)


class _Identities:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    async def get(self, channel: str, external_id: str) -> Identity | None:
        for identity in self._t.identities.values():
            if (identity.channel, identity.external_id) == (channel, external_id):
                return identity
        return None

    async def load(
        self, channel: str, external_id: str
    ) -> tuple[Identity | None, Member | None, Conversation | None]:
        identity = await self.get(channel, external_id)
        if identity is None:
            return None, None, None
        return (
            identity,
            self._t.members.get(identity.id),
            self._t.conversations.get(identity.id),
        )

    async def create(self, channel: str, external_id: str, locale: str | None) -> Identity:
        if await self.get(channel, external_id) is not None:
            raise ValueError(f"account {channel}:{external_id} exists")  # a unique key
        identity = Identity(self._t.new_id(), channel, external_id, None, locale)
        self._t.identities[identity.id] = identity
        return identity

    def _update(self, identity_id: int, **changes: Any) -> None:
        identity = self._t.identities.get(identity_id)
        if identity is not None:
            self._t.identities[identity_id] = replace(identity, **changes)

    async def set_locale(self, identity_id: int, locale: str) -> None:
        self._update(identity_id, locale=locale)

    async def delete(self, identity_id: int) -> None:
        self._t.identities.pop(identity_id, None)
        self._t.members.pop(identity_id, None)
        self._t.conversations.pop(identity_id, None)  # ON DELETE CASCADE

    async def mark_unreachable(self, channel: str, external_id: str, when: datetime) -> None:
        identity = await self.get(channel, external_id)
        if identity is not None:
            self._update(identity.id, unreachable=True)

    async def set_unreachable(self, identity_id: int, when: datetime | None) -> None:
        self._update(identity_id, unreachable=when is not None)

    async def set_menu(self, identity_id: int, menu: Sequence[tuple[str, str, str]] | None) -> None:
        self._update(identity_id, menu=tuple(tuple(item) for item in menu) if menu else None)


class _Conversations:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    async def get(self, identity_id: int) -> Conversation | None:
        return self._t.conversations.get(identity_id)

    async def save(self, conversation: Conversation) -> None:
        if conversation.identity_id not in self._t.identities:
            raise ValueError("a conversation of no account")  # a foreign key
        self._t.conversations[conversation.identity_id] = replace(
            conversation, values=_json(conversation.values), history=tuple(conversation.history)
        )

    async def delete(self, identity_id: int) -> None:
        self._t.conversations.pop(identity_id, None)

    async def in_flow(self, flow: str) -> Sequence[tuple[Identity, Conversation]]:
        return [
            (self._t.identities[i], c) for i, c in self._t.conversations.items() if c.flow == flow
        ]


class _Outbox:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    async def add(self, message: OutboxMessage, now: datetime) -> int:
        row = _Outboxed(
            self._t.new_id(),
            replace(message, payload=_json(message.payload)),
            now,
            message.not_before or now,
        )
        self._t.outbox[row.id] = row
        return row.id

    async def enqueue(self, message: OutboxMessage, now: datetime) -> bool:
        key = message.dedupe_key
        if key is not None and any(r.message.dedupe_key == key for r in self._t.outbox.values()):
            return False
        await self.add(message, now)
        return True

    async def has_key(self, dedupe_key: str) -> bool:
        return any(r.message.dedupe_key == dedupe_key for r in self._t.outbox.values())

    async def due(
        self,
        channel: str,
        now: datetime,
        limit: int,
        bulk: bool = True,
        external_id: str | None = None,
    ) -> Sequence[OutboxRow]:
        rows = [
            r
            for r in self._t.outbox.values()
            if r.status == "pending"
            and r.message.channel == channel
            and r.not_before <= now
            and (bulk or r.message.kind not in BULK_KINDS)
            and (external_id is None or r.message.external_id == external_id)
        ]
        rows.sort(key=lambda r: (r.message.priority, r.id))
        return [OutboxRow(r.id, r.message, r.attempts, r.status) for r in rows[:limit]]

    def _pending(self, row_id: int) -> _Outboxed | None:
        row = self._t.outbox.get(row_id)
        return row if row is not None and row.status == "pending" else None

    async def mark_sent(self, row_id: int, now: datetime, via: str | None = None) -> None:
        row = self._t.outbox.get(row_id)
        if row is not None:
            row.status, row.attempts = "sent", row.attempts + 1

    async def delete(self, row_ids: Sequence[int]) -> None:
        for row_id in row_ids:
            self._t.outbox.pop(row_id, None)

    async def reschedule(self, row_ids: Sequence[int], not_before: datetime) -> None:
        for row_id in row_ids:
            row = self._pending(row_id)
            if row is not None:
                row.not_before = not_before

    async def release(self, kind: str, now: datetime) -> int:
        waiting = [
            r for r in self._t.outbox.values() if r.message.kind == kind and r.status == "pending"
        ]
        later = [r for r in waiting if r.not_before > now]
        for row in later:
            row.not_before = now
        return len(later)

    async def prune(self, kind: str, older_than: datetime) -> int:
        old = [
            r.id
            for r in self._t.outbox.values()
            if r.message.kind == kind and r.status != "pending" and r.created_at < older_than
        ]
        await self.delete(old)
        return len(old)

    async def postpone(self, row_id: int, not_before: datetime, error: str) -> None:
        row = self._pending(row_id)
        if row is not None:
            row.not_before, row.last_error, row.attempts = not_before, error[:200], row.attempts + 1

    async def fail(self, row_id: int, error: str) -> None:
        row = self._pending(row_id)
        if row is not None:
            row.status, row.last_error, row.attempts = "failed", error[:200], row.attempts + 1

    async def counts(self) -> dict[str, int]:
        counted: dict[str, int] = {}
        for row in self._t.outbox.values():
            counted[row.status] = counted.get(row.status, 0) + 1
        return counted

    async def erase(self, subject_id: int, accounts: Sequence[tuple[str, str]]) -> int:
        touched = 0
        for row in list(self._t.outbox.values()):
            to_them = (row.message.channel, row.message.external_id) in accounts
            settled_broadcast = row.message.kind == "broadcast" and row.status != "pending"
            if row.message.subject_id == subject_id or (to_them and not settled_broadcast):
                del self._t.outbox[row.id]
                touched += 1
            elif to_them:
                row.message = replace(row.message, external_id="")
                row.last_error = None
                touched += 1
        return touched

    async def locales(self, row_ids: Sequence[int]) -> dict[int, str]:
        found = {}
        for row_id in row_ids:
            row = self._t.outbox.get(row_id)
            if row is None:
                continue
            for identity in self._t.identities.values():
                key = (identity.channel, identity.external_id)
                if key == (row.message.channel, row.message.external_id):
                    member = self._t.members.get(identity.id)
                    locale = identity.locale or (member.locale if member else None)
                    if locale:
                        found[row_id] = locale
        return found


class MemoryUnitOfWork:
    """The engine's unit of work over a private copy of the tables, plus what the toy flow's
    own "domain" needs (enrolling an account): the way the campaign's unit of work extends
    the engine's."""

    def __init__(self, tables: Tables) -> None:
        self.tables = tables
        self.updates = _Updates(tables)
        self.identities = _Identities(tables)
        self.conversations = _Conversations(tables)
        self.outbox = _Outbox(tables)

    async def enroll(self, identity_id: int, locale: str) -> None:
        """Bind the account to someone (a member): the engine then greets instead of asking."""
        identity = self.tables.identities[identity_id]
        self.tables.identities[identity_id] = replace(identity, subject_id=identity_id)
        self.tables.members[identity_id] = Member(locale)


class _Lease:
    def __init__(self, store: MemoryStore, name: str) -> None:
        self._store = store
        self._name = name

    async def alive(self) -> bool:
        return self._name in self._store.leases

    async def release(self) -> None:
        self._store.leases.discard(self._name)


class MemoryStore:
    """The engine's ``Store``: transactions over ``Tables`` (committed when the block ends
    cleanly, else nothing of it stays). ``fail_next`` makes the next transaction fail as an
    unreachable database does (``StorageUnavailable``) or with any exception given."""

    def __init__(self) -> None:
        self.tables = Tables()
        self.leases: set[str] = set()
        self.fail_next: BaseException | None = None
        self._lock = asyncio.Lock()

    @property
    def shared(self) -> bool:
        return False

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[MemoryUnitOfWork]:
        async with self._lock:
            if self.fail_next is not None:
                failure, self.fail_next = self.fail_next, None
                raise failure
            working = copy.deepcopy(self.tables)
            yield MemoryUnitOfWork(working)  # an exception here leaves self.tables as it was
            self.tables = working

    async def try_lease(self, name: str) -> _Lease | None:
        if name in self.leases:
            return None
        self.leases.add(name)
        return _Lease(self, name)
