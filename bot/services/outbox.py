"""The outbox: messages the bot sends on its own initiative, and the sender that delivers them.

A message is written in the same transaction as the change that caused it; the sender delivers
it afterwards, so a crash between the two loses nothing (a crash during a send may repeat it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from bot.engine.ports import OutboxMessage, OutboxRow, Store, UnitOfWork
from bot.engine.runner import GLOBAL_TOKEN
from bot.engine.types import Choice, Expect, Joined, Reply, Text, text_from_json, text_to_json

__all__ = [
    "Deliverer",
    "DeliveryError",
    "OutboxSender",
    "OutgoingFile",
    "RateLimited",
    "Rejected",
    "Transient",
    "Unreachable",
    "file_message",
    "notify_accounts",
    "text_message",
]

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    """A channel's failure, in neutral terms the sender knows how to treat."""


class RateLimited(DeliveryError):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited for {retry_after}s")
        self.retry_after = retry_after


class Unreachable(DeliveryError):
    """The user blocked the bot or the chat is gone: retrying will not help."""


class Transient(DeliveryError):
    """A network or server error: worth another try later."""


class Rejected(DeliveryError):
    """The channel refused this message for good (a bad request): no retry."""


@dataclass(frozen=True, slots=True)
class OutgoingFile:
    path: Path
    kind: str  # photo, document
    mime_type: str
    name: str
    caption: str
    locale: str = "vi"


class Deliverer(Protocol):
    name: str  # the channel

    async def deliver(
        self, external_id: str, reply: Reply | None, file: OutgoingFile | None
    ) -> None:
        """Send one message; raise a DeliveryError on failure."""


def text_message(
    channel: str,
    external_id: str,
    text: Text,
    choices: Sequence[tuple[str, Text | str]] = (),
    *,
    dedupe_key: str | None = None,
    kind: str = "notification",
    priority: int = 0,
) -> OutboxMessage:
    """A text with buttons; each button id is a command ("/review 12") that works any time."""
    payload = {
        "text": text_to_json(text),
        "choices": [[choice_id, text_to_json(label)] for choice_id, label in choices],
    }
    return OutboxMessage(channel, external_id, payload, kind, priority, dedupe_key)


def file_message(
    channel: str, external_id: str, sha256: str, kind: str, mime_type: str, name: str, caption: Text
) -> OutboxMessage:
    payload = {
        "file": {"sha256": sha256, "kind": kind, "mime_type": mime_type, "name": name},
        "text": text_to_json(caption),
    }
    return OutboxMessage(channel, external_id, payload)


async def notify_accounts(
    uow: UnitOfWork,
    accounts: Sequence[str],
    build: Callable[[str, str], OutboxMessage],
    now: datetime,
) -> int:
    """Enqueue one message per ``channel:id`` account; the count enqueued."""
    count = 0
    for account in dict.fromkeys(accounts):
        channel, _, external_id = account.partition(":")
        if await uow.outbox.enqueue(build(channel, external_id), now):
            count += 1
    return count


class OutboxSender:
    """Delivers one channel's outbox rows in priority order, retrying what can be retried."""

    def __init__(
        self,
        store: Store,
        deliverer: Deliverer,
        render: Callable[[str, Text | Joined | str], str],
        default_locale: str,
        file_path: Callable[[str], Path],
        *,
        batch: int = 20,
        max_attempts: int = 6,
        idle_seconds: float = 1.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._deliverer = deliverer
        self._render = render
        self._default_locale = default_locale
        self._file_path = file_path
        self._batch = batch
        self._max_attempts = max_attempts
        self._idle = idle_seconds
        self._clock = clock
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                sent = await self.flush()
            except Exception as exc:  # keep delivering after a database hiccup
                log.error("outbox: %s", type(exc).__name__)
                sent = 0
            if sent:
                continue
            self._wake.clear()
            waiters = {asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())}
            _, pending = await asyncio.wait(
                waiters, timeout=self._idle, return_when=asyncio.FIRST_COMPLETED
            )
            for waiter in pending:
                waiter.cancel()

    async def flush(self) -> int:
        """Deliver the rows due now; the number handled."""
        now = self._clock()
        async with self._store.transaction() as uow:
            rows = await uow.outbox.due(self._deliverer.name, now, self._batch)
            locales = {
                row.id: await self._locale(uow, row.message.channel, row.message.external_id)
                for row in rows
            }
        for row in rows:
            await self._deliver(row, locales[row.id])
        return len(rows)

    async def _locale(self, uow: UnitOfWork, channel: str, external_id: str) -> str:
        identity = await uow.identities.get(channel, external_id)
        if identity is not None and identity.locale:
            return identity.locale
        if identity is not None and identity.citizen_id is not None:
            citizen = await uow.citizens.get(identity.citizen_id)
            if citizen is not None:
                return citizen.locale
        return self._default_locale

    def _reply(self, payload: dict[str, Any], locale: str) -> Reply:
        choices = tuple(
            Choice(choice_id, self._render(locale, text_from_json(label)))
            for choice_id, label in payload.get("choices") or ()
        )
        text = self._render(locale, text_from_json(payload["text"]))
        return Reply(text, locale, choices, Expect.CHOICE if choices else Expect.NONE, GLOBAL_TOKEN)

    async def _deliver(self, row: OutboxRow, locale: str) -> None:
        message = row.message
        try:
            file = message.payload.get("file")
            if file is not None:
                outgoing = OutgoingFile(
                    self._file_path(file["sha256"]),
                    file["kind"],
                    file["mime_type"],
                    file["name"],
                    self._render(locale, text_from_json(message.payload["text"])),
                    locale,
                )
                await self._deliverer.deliver(message.external_id, None, outgoing)
            else:
                await self._deliverer.deliver(
                    message.external_id, self._reply(message.payload, locale), None
                )
        except RateLimited as exc:
            await self._settle(row, postpone=exc.retry_after, error=str(exc))
        except (Unreachable, Rejected) as exc:
            await self._settle(row, error=f"{type(exc).__name__}: {exc}", final=True)
        except (DeliveryError, OSError) as exc:
            final = row.attempts + 1 >= self._max_attempts
            await self._settle(
                row, postpone=2.0**row.attempts, error=type(exc).__name__, final=final
            )
        else:
            async with self._store.transaction() as uow:
                await uow.outbox.mark_sent(row.id, self._clock())

    async def _settle(
        self,
        row: OutboxRow,
        *,
        error: str,
        postpone: float = 0,
        final: bool = False,
    ) -> None:
        async with self._store.transaction() as uow:
            if final:
                await uow.outbox.fail(row.id, error)
            else:
                await uow.outbox.postpone(
                    row.id, self._clock() + timedelta(seconds=postpone), error
                )
