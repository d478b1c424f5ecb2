"""What every channel does with what it receives.

1. **Durable before acknowledged**: an update is stored in the inbox (``Mailbox.accept``) before
   the channel acknowledges it to the platform (the next ``getUpdates`` offset, a webhook's
   200). A restart handles what the inbox still holds (``replay``), in each user's order.
2. **In order per user**, users in parallel (``KeyedSerializer``); a flooding account's excess
   is dropped before it costs a database write (``FloodGuard``), with one polite notice.
3. **Replies sent at once, never lost**: the engine stored them in the outbox with the update;
   they are sent here and acknowledged (deleted) once delivered. A reply that fails is handed
   to the outbox's sender, which retries it with the channel's back-off, in order. The inbox
   and the acknowledgements are the receiver's ``Mailbox`` (``mailbox.py``).
4. **An unavailable database** (locked, gone, a full disk) leaves the update in the inbox and
   tries again with back-off (1, 2, 4 … 30 s); the user hears once that the answer is coming.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from bot.engine import (
    Engine,
    FloodGuard,
    Inbound,
    InboundKind,
    KeyedSerializer,
    Reply,
    Result,
    Text,
    Verdict,
    t,
)
from bot.engine.ports import InboxItem
from bot.handlers.mailbox import Mailbox
from bot.services.outbox import RateLimited

__all__ = ["Incoming", "Receiver", "SendReply"]

log = logging.getLogger(__name__)

U = TypeVar("U")
SendReply = Callable[[str, Reply], Awaitable[None]]  # raises the outbox's DeliveryErrors


@dataclass(frozen=True, slots=True)
class Incoming(Generic[U]):
    """One update: the channel's own object, its neutral form, and its JSON for the inbox."""

    update: U
    inbound: Inbound
    payload: dict[str, Any]


class Receiver(Generic[U]):
    """A channel's receiving half: ``engine`` handles each update; ``mailbox`` (by default one
    over the engine's store) holds the inbox and acknowledges the replies delivered."""

    def __init__(
        self,
        name: str,
        engine: Engine,
        send: SendReply,
        *,
        mailbox: Mailbox | None = None,
        max_concurrency: int = 16,
        flood: FloodGuard | None = None,
        before: Callable[[Incoming[U]], Awaitable[None]] | None = None,
        after: Callable[[Incoming[U], Result], Awaitable[None]] | None = None,
        max_backoff: float = 30.0,
    ) -> None:
        self.name = name
        self._engine = engine
        self._mailbox = mailbox
        self._send = send
        self._flood = flood
        self._before = before
        self._after = after
        self._max_backoff = max_backoff
        self._serializer = KeyedSerializer(max_concurrency)
        self.stopping = asyncio.Event()
        self.dropped = 0  # updates of flooding accounts, dropped unhandled
        self._rebuild: Callable[[InboxItem], Incoming[U] | None] | None = None

    @property
    def mailbox(self) -> Mailbox:
        """The inbox and the replies' acknowledgements (made when first used, so that a channel
        built only to deliver needs no engine)."""
        if self._mailbox is None:
            self._mailbox = Mailbox(self._engine.store)
        return self._mailbox

    # -- receiving -----------------------------------------------------------------------

    async def take(self, batch: Sequence[Incoming[U]]) -> None:
        """Store a batch in the inbox, then queue the updates not seen before. Raises
        ``StorageUnavailable`` when nothing could be stored: acknowledge nothing then."""
        admitted = [incoming for incoming in batch if self._admit(incoming)]
        keyed = [incoming for incoming in admitted if incoming.inbound.update_id is not None]
        items = [InboxItem(str(i.inbound.update_id), i.inbound.user_id, i.payload) for i in keyed]
        stored = set(await self.mailbox.accept(self.name, items)) if items else set()
        for incoming in admitted:
            update_id = incoming.inbound.update_id
            if update_id is None:
                self._submit(incoming)
            elif update_id in stored:
                stored.discard(update_id)  # a batch holding one update twice queues it once
                self._submit(incoming)

    def _admit(self, incoming: Incoming[U]) -> bool:
        if self._flood is None:
            return True
        verdict = self._flood.check(incoming.inbound.user_id)
        if verdict is Verdict.PASS:
            return True
        self.dropped += 1
        if verdict is Verdict.NOTICE:
            log.warning("%s: an account is flooding; its excess is dropped", self.name)
            inbound = incoming.inbound
            self._serializer.submit(
                inbound.user_id, lambda: self._notify(inbound, t("engine.slow_down"))
            )
        return False

    async def replay(self, rebuild: Callable[[InboxItem], Incoming[U] | None]) -> int:
        """Queue what the inbox holds from before a restart, in the order it was received."""
        self._rebuild = rebuild
        items = await self.mailbox.backlog(self.name)
        for item in items:
            incoming = rebuild(item)
            if incoming is None:  # stored by a release that read it differently: consume it
                inbound = Inbound(self.name, item.user_id, InboundKind.OTHER, item.update_id)
                incoming = Incoming(None, inbound, item.payload)  # type: ignore[arg-type]
            self._submit(incoming)
        if items:
            log.info("%s: %d updates from before the restart queued", self.name, len(items))
        return len(items)

    def _submit(self, incoming: Incoming[U]) -> None:
        self._serializer.submit(incoming.inbound.user_id, lambda: self._process(incoming))

    async def drain(self) -> None:
        await self._serializer.join()
        await _quietly(self.mailbox.flush(), f"{self.name}: acknowledging replies")

    # -- handling ------------------------------------------------------------------------

    async def _process(self, incoming: Incoming[U]) -> None:
        inbound = incoming.inbound
        if self.mailbox.shared and inbound.update_id is not None and self._rebuild is not None:
            # Several processes: this user's earlier updates may have been stored by another
            # one (the proxy sent them there) and not handled yet: handle them first, here;
            # the user's lock and the handled ids make sure each is handled once.
            try:
                earlier = await self.mailbox.earlier(self.name, inbound.user_id, inbound.update_id)
            except Exception as exc:
                log.warning("%s: earlier updates: %s", self.name, type(exc).__name__)
                earlier = []
            for item in earlier:
                previous = self._rebuild(item)
                if previous is not None:
                    await self._process_one(previous)
        await self._process_one(incoming)

    async def _process_one(self, incoming: Incoming[U]) -> None:
        if self._before is not None:
            await _quietly(self._before(incoming), f"{self.name}: before handling")
        result = await self._handle(incoming.inbound)
        if result is None or result.duplicate:
            return
        if self._after is not None:
            await _quietly(self._after(incoming, result), f"{self.name}: after handling")
        await self.send(incoming.inbound.reply_to, result)

    async def _handle(self, inbound: Inbound) -> Result | None:
        """The engine's result; while the database is unavailable, try again with back-off
        (the update stays in the inbox). None when the channel stops first."""
        attempt = 0
        while True:
            result = await self._engine.handle(inbound)
            if not result.retry:
                if attempt:
                    log.info("%s: the database answers again after %d tries", self.name, attempt)
                return result
            attempt += 1
            if attempt == 1:
                log.warning("%s: the database is unavailable; the update waits", self.name)
            if attempt == 2:
                await self._notify(inbound, t("engine.busy"))
            if self.stopping.is_set():
                return None
            delay = min(2.0 ** (attempt - 1), self._max_backoff)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), delay)

    async def send(self, target: str, result: Result) -> None:
        """Send the replies in order; acknowledge those delivered, hand the rest to the outbox."""
        ids = list(result.reply_ids)
        sent = 0
        for index, reply in enumerate(result.replies):
            try:
                await self._send(target, reply)
            except Exception as exc:
                delay = exc.retry_after if isinstance(exc, RateLimited) else 1.0
                log.warning("%s: reply not sent (%s); the outbox retries it", self.name,
                            type(exc).__name__)  # fmt: skip
                await _quietly(self.mailbox.redeliver(ids[index:], delay), "redeliver")
                break
            sent = index + 1
        await _quietly(
            self.mailbox.delivered(ids[:sent], result.after_delivery),
            f"{self.name}: acknowledging replies",
        )

    async def _notify(self, inbound: Inbound, text: Text) -> None:
        """A plain notice, sent directly (it does not need the database)."""
        locale = await self._engine.locale_for(inbound)
        await _quietly(self._send(inbound.reply_to, self._engine.notice(locale, text)), "notice")


async def _quietly(call: Awaitable[object], what: str) -> None:
    try:
        await call
    except Exception as exc:
        log.warning("%s failed: %s", what, type(exc).__name__)
