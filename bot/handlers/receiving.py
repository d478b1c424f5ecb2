"""What every channel does with what it receives.

1. **Durable before acknowledged**: an update is stored in the inbox (``Mailbox.accept``) before
   the channel acknowledges it to the platform (a webhook's 200). A restart handles what the
   inbox still holds (``replay``), in each user's order. Where the platform delivers again
   what was not acknowledged (Telegram's ``getUpdates`` offset), a batch is handled first and
   acknowledged once each update is handled and committed (``take_handled``): one transaction
   an update, and the inbox only for the few still being handled after ``HANDLE_BEFORE_ACK``.
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
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
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

__all__ = ["HANDLE_BEFORE_ACK", "Incoming", "Receiver", "SendReply"]

log = logging.getLogger(__name__)

U = TypeVar("U")
SendReply = Callable[[str, Reply], Awaitable[None]]  # raises the outbox's DeliveryErrors
# how long a batch polled with an offset may be handled before what is left of it is stored in
# the inbox instead, so that one slow update (a file, a database away) never holds the others
HANDLE_BEFORE_ACK = 1.0  # seconds


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
        # updates of the batch being taken by ``take_handled``, queued and maybe not handled
        self._handling: dict[str, asyncio.Future[None]] = {}
        self._tasks: set[asyncio.Future[None]] = set()

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
        stored = set(await self.mailbox.accept(self.name, _items(keyed))) if keyed else set()
        for incoming in admitted:
            update_id = incoming.inbound.update_id
            if update_id is None:
                self._submit(incoming)
            elif update_id in stored:
                stored.discard(update_id)  # a batch holding one update twice queues it once
                self._submit(incoming)

    async def take_handled(
        self, batch: Sequence[Incoming[U]], wait: float = HANDLE_BEFORE_ACK
    ) -> None:
        """For a platform that delivers again what it was not told arrived (the next
        ``getUpdates`` offset): handle the batch, and return once each update is handled and
        committed (its claim is what makes it durable, and a second delivery a duplicate), so
        that no inbox row is written and deleted for it. Those still not handled after
        ``wait`` seconds are stored in the inbox as ``take`` stores them, and taken out again
        once handled. Raises ``StorageUnavailable`` when they could not be stored:
        acknowledge nothing then; the same batch taken again queues no update twice."""
        # a batch taken again (its store failed) is not counted twice by the flood guard
        admitted = [
            incoming
            for incoming in batch
            if incoming.inbound.update_id in self._handling or self._admit(incoming)
        ]
        waiting: dict[str, asyncio.Future[None]] = {}
        for incoming in admitted:
            update_id = incoming.inbound.update_id
            if update_id is None:
                self._submit(incoming)
                continue
            done = self._handling.get(update_id)
            if done is None:
                done = self._handling[update_id] = asyncio.get_running_loop().create_future()
                direct = Incoming(
                    incoming.update, replace(incoming.inbound, inboxed=False), incoming.payload
                )
                self._serializer.submit(
                    incoming.inbound.user_id, functools.partial(self._process_then, direct, done)
                )
            waiting[update_id] = done
        if waiting:
            await asyncio.wait(waiting.values(), timeout=wait)
        late = {update_id: i for update_id, i in waiting.items() if not i.done()}
        if late:
            keyed = [i for i in admitted if i.inbound.update_id in late]
            await self.mailbox.accept(self.name, _items(keyed))
            log.info("%s: %d updates stored while still being handled", self.name, len(late))
            cleanup = asyncio.ensure_future(self._take_out_when_handled(late))
            self._tasks.add(cleanup)
            cleanup.add_done_callback(self._tasks.discard)
        for update_id in waiting:
            self._handling.pop(update_id, None)

    async def _process_then(self, incoming: Incoming[U], done: asyncio.Future[None]) -> None:
        try:
            await self._process(incoming)
        finally:
            if not done.done():
                done.set_result(None)

    async def _take_out_when_handled(self, late: dict[str, asyncio.Future[None]]) -> None:
        """A late update's claim did not take out the inbox row stored while it was handled:
        take it out once handled (were the process to stop first, the restart's ``replay``
        finds it handled and consumes it)."""
        await asyncio.gather(*late.values())
        await _quietly(self.mailbox.take_out(self.name, list(late)), f"{self.name}: inbox")

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
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await _quietly(self.mailbox.flush(), f"{self.name}: acknowledging replies")

    # -- handling ------------------------------------------------------------------------

    async def _process(self, incoming: Incoming[U]) -> None:
        inbound = incoming.inbound
        if (
            self.mailbox.shared
            and inbound.inboxed
            and inbound.update_id is not None
            and self._rebuild is not None
        ):
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


def _items(keyed: Sequence[Incoming[Any]]) -> list[InboxItem]:
    return [InboxItem(str(i.inbound.update_id), i.inbound.user_id, i.payload) for i in keyed]


async def _quietly(call: Awaitable[object], what: str) -> None:
    try:
        await call
    except Exception as exc:
        log.warning("%s failed: %s", what, type(exc).__name__)
