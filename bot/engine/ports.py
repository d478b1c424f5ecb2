"""What the engine needs from storage: the conversation machinery's records (updates, accounts,
conversations, the outbox) and their repositories, as protocols over plain records (no ORM
here). The campaign's records and repositories are the domain's (``bot.domain.ports``)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

__all__ = [
    "Conversation",
    "ConversationRepository",
    "Identity",
    "IdentityRepository",
    "InboxItem",
    "Lease",
    "OutboxMessage",
    "OutboxRepository",
    "OutboxRow",
    "StorageUnavailable",
    "Store",
    "Subject",
    "UnitOfWork",
    "UpdateRepository",
]


class StorageUnavailable(Exception):
    """The database cannot be reached or written now (locked past its busy timeout, gone, a
    full disk): nothing was stored, and trying again later can succeed."""


@dataclass(frozen=True, slots=True)
class InboxItem:
    """An update acknowledged to its platform and not handled yet: the channel's own JSON."""

    update_id: str
    user_id: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Identity:
    id: int
    channel: str
    external_id: str
    subject_id: int | None  # the domain's record the account is bound to (a citizen)
    locale: str | None
    opted_out: bool = False  # /stop: no broadcasts or reminders
    unreachable: bool = False  # the user blocked the bot
    # (id, label, means) of the menu last shown outside any step: a typed number answers it
    menu: tuple[tuple[str, str, str], ...] | None = None


class Subject(Protocol):
    """Who an account is enrolled as, in the domain's terms (a citizen): the engine needs only
    the language it speaks."""

    @property
    def locale(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Conversation:
    identity_id: int
    flow: str
    step: str
    values: dict[str, Any] = field(default_factory=dict)
    history: tuple[str, ...] = ()
    seq: int = 0  # increments with every prompt sent; buttons carry it


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    """A message the bot sends on its own initiative, delivered after the commit."""

    channel: str
    external_id: str
    payload: dict[str, Any]  # {"text": Text as JSON, "choices": [...]} or {"file": {...}}
    kind: str = "notification"  # notification, broadcast, reminder
    priority: int = 0  # lower goes first
    dedupe_key: str | None = None
    not_before: datetime | None = None
    subject_id: int | None = None  # the domain's record it is about (erased with it)


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    message: OutboxMessage
    attempts: int
    status: str  # pending, sent, failed


class UpdateRepository(Protocol):
    async def receive(self, channel: str, items: Sequence[InboxItem], now: datetime) -> list[str]:
        """Store updates in the inbox; the ids of those that were neither there nor handled."""

    async def backlog(self, channel: str, limit: int = 10_000) -> Sequence[InboxItem]:
        """The inbox of a channel, in the order the updates were received."""

    async def earlier(self, channel: str, user_id: str, update_id: str) -> Sequence[InboxItem]:
        """This user's updates stored in the inbox before this one and not handled yet."""

    async def claim(
        self, channel: str, user_id: str, update_id: str, *, inboxed: bool = True
    ) -> bool:
        """Record an update as handled and (``inboxed``) take it out of the inbox; False when
        it already was handled (a second delivery). First, until this transaction ends, no
        other process handles this user's updates (PostgreSQL: an advisory transaction lock,
        taken by the same statement; SQLite has one writer already)."""

    async def handled(self, channel: str, update_id: str) -> bool:
        """Whether this update was handled already (a second delivery)."""

    async def take_out(self, channel: str, update_ids: Sequence[str]) -> None:
        """Take updates out of the inbox (handled ones that were stored while handled)."""

    async def prune(self, older_than: datetime) -> int: ...


class IdentityRepository(Protocol):
    async def get(self, channel: str, external_id: str) -> Identity | None: ...

    async def load(
        self, channel: str, external_id: str
    ) -> tuple[Identity | None, Subject | None, Conversation | None]:
        """The account, who it is enrolled as (the domain's subject: a citizen) and its
        conversation: what every update needs, at once."""

    async def create(self, channel: str, external_id: str, locale: str | None) -> Identity: ...

    async def set_locale(self, identity_id: int, locale: str) -> None: ...

    async def delete(self, identity_id: int) -> None: ...

    async def mark_unreachable(self, channel: str, external_id: str, when: datetime) -> None: ...

    async def set_unreachable(self, identity_id: int, when: datetime | None) -> None:
        """Blocked (a time) or reachable again (None)."""

    async def set_menu(self, identity_id: int, menu: Sequence[tuple[str, str, str]] | None) -> None:
        """The menu just shown outside any step (a typed number answers it), or None."""


class ConversationRepository(Protocol):
    async def get(self, identity_id: int) -> Conversation | None: ...

    async def save(self, conversation: Conversation) -> None: ...

    async def delete(self, identity_id: int) -> None: ...

    async def in_flow(self, flow: str) -> Sequence[tuple[Identity, Conversation]]:
        """Every open conversation of one flow, with its account (a handful: staff's reviews)."""


class OutboxRepository(Protocol):
    async def enqueue(self, message: OutboxMessage, now: datetime) -> bool:
        """False when a message with the same dedupe key exists already."""

    async def has_key(self, dedupe_key: str) -> bool:
        """Whether a message with this dedupe key exists (queued, sent, or failed)."""

    async def add(self, message: OutboxMessage, now: datetime) -> int:
        """Store a message that has no dedupe key; its row id."""

    async def due(
        self,
        channel: str,
        now: datetime,
        limit: int,
        bulk: bool = True,
        external_id: str | None = None,
    ) -> Sequence[OutboxRow]:
        """Pending rows, urgent ones first; ``bulk=False`` leaves broadcasts and reminders;
        ``external_id`` only that account's (a console shows its own user's messages)."""

    async def mark_sent(self, row_id: int, now: datetime, via: str | None = None) -> None:
        """Sent; ``via``: how, for a channel with two ways (a Zalo OA's template)."""

    async def delete(self, row_ids: Sequence[int]) -> None:
        """Forget rows (a reply once it is delivered)."""

    async def reschedule(self, row_ids: Sequence[int], not_before: datetime) -> None: ...

    async def release(self, kind: str, now: datetime) -> int:
        """Make the pending rows of ``kind`` that wait for a later time due now."""

    async def prune(self, kind: str, older_than: datetime) -> int:
        """Delete rows of ``kind`` that are no longer pending and older than a time."""

    async def postpone(self, row_id: int, not_before: datetime, error: str) -> None: ...

    async def fail(self, row_id: int, error: str) -> None: ...

    async def counts(self) -> dict[str, int]:
        """Rows by status."""

    async def erase(self, subject_id: int, accounts: Sequence[tuple[str, str]]) -> int:
        """Delete the messages about a subject (a citizen) and those to their accounts; a
        broadcast's rows already settled stay, for its report, with the account erased. The
        rows touched."""

    async def locales(self, row_ids: Sequence[int]) -> dict[int, str]:
        """Each row's recipient's language (the account's, else its subject's), one query."""


class UnitOfWork(Protocol):
    """One database transaction, as the engine sees it: committed when the block ends cleanly,
    else rolled back. The domain's unit of work extends it with the campaign's repositories."""

    @property
    def updates(self) -> UpdateRepository: ...

    @property
    def identities(self) -> IdentityRepository: ...

    @property
    def conversations(self) -> ConversationRepository: ...

    @property
    def outbox(self) -> OutboxRepository: ...


class Lease(Protocol):
    """Being the one process that does something (sending the outbox, running schedules)."""

    async def alive(self) -> bool:
        """Still held, as the database said after this call began (never an answer given
        before it); a lost database connection loses it, for good."""

    async def release(self) -> None: ...


class Store(Protocol):
    def transaction(self) -> AbstractAsyncContextManager[UnitOfWork, bool | None]: ...

    async def try_lease(self, name: str) -> Lease | None:
        """The lease called ``name`` if no other process holds it; None otherwise."""

    @property
    def shared(self) -> bool:
        """Whether several processes may use this database at once (PostgreSQL)."""
