"""The outbox: messages the bot sends on its own initiative, and the sender that delivers them.

A message is written in the same transaction as the change that caused it; the sender delivers
it afterwards, so a crash between the two loses nothing (a crash during a send may repeat it).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from bot.domain.calendar import local_time
from bot.domain.ports import Store, UnitOfWork
from bot.domain.records import Broadcast
from bot.engine.ports import Lease, OutboxMessage, OutboxRow
from bot.engine.runner import GLOBAL_TOKEN
from bot.engine.types import (
    Choice,
    Expect,
    Joined,
    Reply,
    Text,
    reply_from_json,
    text_from_json,
)

__all__ = [
    "Deliverer",
    "DeliveryError",
    "OutboxSender",
    "OutgoingFile",
    "Pace",
    "RateLimited",
    "RateLimiter",
    "Rejected",
    "Send",
    "SendsByKind",
    "Transient",
    "Unreachable",
    "Waiting",
    "in_quiet_hours",
]

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    """A channel's failure, in neutral terms the sender knows how to treat."""


class RateLimited(DeliveryError):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited for {retry_after}s")
        self.retry_after = retry_after


class Waiting(DeliveryError):
    """The channel cannot send for a reason of its own that an operator will lift (a ward's
    Zalo OA to be connected again): the message waits ``retry_after`` seconds and is tried
    again, never failed for it, and without slowing the channel's other chats."""

    def __init__(self, reason: str, retry_after: float) -> None:
        super().__init__(reason)
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
    """A channel's sending end. It may also have ``buttons = False`` (numbered menus: texts in
    their typed variants), ``recipient`` (only that account's messages: a console) and
    ``uploads = True`` (a file's bytes go to the platform, so a file made for one delivery is
    removed once delivered; a channel that sends a link or a path to it keeps it until the
    clean-up); a channel takes ``name``, ``buttons`` and ``uploads`` from its description
    (``bot/handlers/<name>/description.py``), and its pace comes from there too."""

    name: str  # the channel

    async def deliver(
        self, external_id: str, reply: Reply | None, file: OutgoingFile | None
    ) -> None:
        """Send one message; raise a DeliveryError on failure."""


@runtime_checkable
class SendsByKind(Protocol):
    """A channel that sends some kinds of message another way when the usual one is closed (a
    Zalo OA: a reminder or a broadcast to someone outside the 7-day window goes as the
    approved template). Returns the way taken (recorded as the row's ``sent_via``), None for
    the usual one."""

    async def deliver_as(
        self, external_id: str, reply: Reply | None, file: OutgoingFile | None, kind: str
    ) -> str | None: ...


class Render(Protocol):
    def __call__(self, locale: str, text: Text | Joined | str, *, typed: bool = False) -> str: ...


@dataclass(frozen=True, slots=True)
class Pace:
    """A channel's sending limits: messages per second overall, seconds between two messages
    to one chat, messages in flight at once."""

    per_second: float = 25.0
    per_chat_interval: float = 1.0
    concurrency: int = 8


@dataclass(slots=True)
class Send:
    """One message's send: when it started and when its request came back."""

    started: float
    done: float | None = None


class RateLimiter:
    """Sends spaced evenly a little under ``per_second`` apart, so that no 1-second window
    holds more even after network jitter; per-chat spacing.

    A 429 pauses the chat it concerns for its ``retry_after`` (Telegram limits each chat to
    about one message a second, and a single 429 is most often that); only when 429s cluster
    (``CLUSTER`` within ``WINDOW``) is it the channel's limit: then the whole channel pauses and
    its rate halves, recovering by a quarter every ``RECOVER_AFTER`` seconds without a 429.
    Pausing the channel for every 429 cost a quarter of the rate with 1% random 429s."""

    WINDOW = 1.02  # a little over a second, so that arrival jitter stays within the limit
    CLUSTER = 3  # 429s within WINDOW that mean the channel's own limit
    RECOVER_AFTER = 5.0  # seconds without a 429 before the rate rises again
    POLL = 0.005  # how often to look again for a send not back yet
    STUCK = 30.0  # a send not back after this long is not waited for
    FLOOR = 0.25  # the lowest share of the configured rate

    def __init__(
        self,
        pace: Pace,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._pace = pace
        self._clock = clock
        self._sleep = sleep
        self._next_slot = 0.0
        # the last sends: a send starts WINDOW after the one ``per_second`` sends before it
        # came back, so that whatever the network's jitter, the platform never receives more
        # than the rate in a second (the first message over a new connection arrives late,
        # and those behind it, on time, used to arrive bunched: 31 in a second at 30/s)
        self._window: collections.deque[Send] = collections.deque()
        self._last: dict[str, float] = {}
        self.paused_until = 0.0  # 429s that cluster pause the whole channel
        self.factor = 1.0  # the share of the configured rate in use
        self._recent: list[float] = []  # when the last 429s came
        self._changed_at = 0.0

    def throttled(self, chat: str, retry_after: float) -> None:
        """A 429 for ``chat``: pause that chat; the channel too when 429s cluster."""
        now = self._clock()
        self._last[chat] = now + retry_after - self._pace.per_chat_interval
        self._recent = [t for t in self._recent if t > now - self.WINDOW] + [now]
        if len(self._recent) >= self.CLUSTER:
            self.paused_until = max(self.paused_until, now + retry_after)
            self.factor = max(self.FLOOR, self.factor / 2)
            self._recent.clear()
        self._changed_at = now

    def _recover(self, now: float) -> None:
        if self.factor < 1.0 and now - self._changed_at >= self.RECOVER_AFTER:
            self.factor = min(1.0, self.factor * 1.25)
            self._changed_at = now

    def done(self, send: Send) -> None:
        """The request of ``send`` came back (delivered or not)."""
        send.done = self._clock()

    async def acquire(self, chat: str) -> Send:
        while True:
            now = self._clock()
            self._recover(now)
            interval = self.WINDOW / (self._pace.per_second * self.factor)
            # Slots follow an ideal timeline: a late wake-up (the event loop's sleep overshoots
            # by a millisecond or two) does not push every later message back.
            slot = self._next_slot if self._next_slot >= now - interval else now
            wait = max(self.paused_until - now, slot - now)
            last = self._last.get(chat)
            if last is not None:
                wait = max(wait, last + self._pace.per_chat_interval - now)
            most = max(1, int(self._pace.per_second * self.factor))
            while len(self._window) > most:
                self._window.popleft()
            if len(self._window) == most:
                before = self._window[0]
                if before.done is None and now - before.started < self.STUCK:
                    wait = max(wait, self.POLL)  # not back yet: it may still arrive
                else:
                    back = before.done if before.done is not None else now
                    wait = max(wait, back + self.WINDOW - now)
            if wait <= 0:
                self._next_slot = max(slot, now - interval) + interval
                send = Send(now)
                self._window.append(send)
                self._last[chat] = now
                if len(self._last) > 50_000:  # forget chats not sent to for a while
                    horizon = now - self._pace.per_chat_interval
                    self._last = {c: t for c, t in self._last.items() if t > horizon}
                return send
            await self._sleep(wait)


def in_quiet_hours(moment: datetime, quiet: tuple[int, int] | None) -> bool:
    """Whether ``moment`` falls in the quiet hours (minutes of the day, Asia/Ho_Chi_Minh)."""
    if quiet is None:
        return False
    local = local_time(moment)
    minute = local.hour * 60 + local.minute
    start, end = quiet
    return start <= minute < end if start < end else minute >= start or minute < end


class _LeaseLost(Exception):
    """The process no longer holds the lease it was sending under."""


class OutboxSender:
    """Delivers one channel's outbox rows, urgent ones first, at the channel's pace.

    A row is marked sent after its delivery succeeded: a crash in between repeats at most the
    messages in flight (``Pace.concurrency``) and loses none. A delivered row whose settling
    fails (the database busy or away) stays in flight, its settling tried again until the
    database takes it, so that it is not sent again; only a stop while the database stays
    away leaves it due (sent once more later, as after a crash).

    Run under a lease (``run(stop, lease)``: several processes on one PostgreSQL), each
    message is sent only once its slot is taken and the lease then proven held
    (``Lease.alive``): whatever this process still sends after the lease ended was in flight
    when it ended, so another process that takes the lease over repeats at most
    ``Pace.concurrency`` messages, whichever connection died."""

    # A sender that has just taken the lease waits this long before its first batch. The
    # previous leader's messages all started before its lease ended, so before this one took
    # it: with this pause no one-second window holds messages of both (each keeps the rate on
    # its own), unless one of the previous leader's last messages took more than half a second
    # to arrive. Without it the bound rested on timing: the two rates met in the second of the
    # takeover, each evenly spaced (measured 142-146 a clock second and up to 149 in a 1 s
    # window at a limit of 150; issue 18). It costs 1.5 s once per takeover.
    TAKEOVER_PAUSE = RateLimiter.WINDOW + 0.5
    SETTLE_RETRY_FIRST = 0.05  # seconds before settling a row is tried again, doubling
    SETTLE_RETRY_MOST = 5.0  # the longest wait between two tries
    SETTLE_AFTER_STOP = 10.0  # once the sender is stopped, how long the tries go on

    def __init__(
        self,
        store: Store,
        deliverer: Deliverer,
        render: Render,
        default_locale: str,
        file_path: Callable[[str], Path],
        *,
        pace: Pace | None = None,
        quiet_hours: tuple[int, int] | None = None,
        batch: int = 200,
        max_attempts: int = 6,
        idle_seconds: float = 1.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._deliverer = deliverer
        typed = not getattr(deliverer, "buttons", True)  # numbered menus: the typed variants

        def rendered(locale: str, text: Text | Joined | str) -> str:
            return render(locale, text, typed=typed)

        self._render = rendered
        self._default_locale = default_locale
        self._file_path = file_path
        self._pace = pace or Pace()
        self._limiter = RateLimiter(self._pace)
        self._quiet = quiet_hours
        self._batch = batch
        self._max_attempts = max_attempts
        self._idle = idle_seconds
        self._clock = clock
        self._wake = asyncio.Event()
        self._broadcasts: dict[int, Broadcast | None] = {}
        self._inflight: dict[int, asyncio.Task[None]] = {}
        self._tails: dict[str, asyncio.Task[None]] = {}  # chat -> its last message in flight
        self._slots = asyncio.Semaphore(self._pace.concurrency)
        self._lease: Lease | None = None  # sending only while it is held (``run``)
        self._stop: asyncio.Event | None = None

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event, lease: Lease | None = None) -> None:
        """Send until ``stop``, or until ``lease`` is found lost."""
        self._lease, self._stop = lease, stop
        if lease is not None and self._store.shared:
            # before the first due rows are read: the previous leader's last rows are settled
            # by then, and are not read (and sent) again
            waiting = asyncio.ensure_future(stop.wait())
            await asyncio.wait({waiting}, timeout=self.TAKEOVER_PAUSE)
            waiting.cancel()
        try:
            await self._run(stop)
        except _LeaseLost:
            pass  # the one who holds the lease (``bot/__main__.py``) says so
        finally:
            await asyncio.gather(*self._inflight.values())
            self._lease = None

    async def _run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            # cleared before looking, never after: a commit that rings while this looks (its
            # rows not read yet) leaves the event set, and the wait below returns at once
            self._wake.clear()
            try:
                # the next batch is fetched while the last sends of this one are in flight
                sent = await self.flush(wait=False)
            except _LeaseLost:
                raise
            except Exception as exc:  # keep delivering after a database hiccup
                log.error("outbox: %s", type(exc).__name__)
                sent = 0
            if sent:
                continue
            waiters = {asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())}
            _, pending = await asyncio.wait(
                waiters, timeout=self._idle, return_when=asyncio.FIRST_COMPLETED
            )
            for waiter in pending:
                waiter.cancel()

    async def flush(self, wait: bool = True) -> int:
        """Deliver the rows due now (one batch), at the channel's pace; the number handled.
        With ``wait=False`` the last sends may still be in flight on return."""
        now = self._clock()
        bulk = not in_quiet_hours(now, self._quiet)
        async with self._store.transaction() as uow:
            rows = [
                row
                for row in await uow.outbox.due(
                    self._deliverer.name,
                    now,
                    self._batch + len(self._inflight),
                    bulk,
                    getattr(self._deliverer, "recipient", None),
                )
                if row.id not in self._inflight
            ][: self._batch]
            locales = await uow.outbox.locales([row.id for row in rows])
            for row in rows:
                broadcast_id = row.message.payload.get("broadcast")
                if broadcast_id is not None and broadcast_id not in self._broadcasts:
                    self._broadcasts[broadcast_id] = await uow.broadcasts.get(broadcast_id)
        for row in rows:
            send = await self._limiter.acquire(row.message.external_id)
            await self._slots.acquire()
            if self._lease is not None and not await self._lease.alive():
                # proven after the slot was taken: what this process sends after the lease
                # ended held a slot when it ended (at most ``Pace.concurrency``)
                self._limiter.done(send)
                self._slots.release()
                raise _LeaseLost
            chat = row.message.external_id
            # a chat's messages go one after the other, in order (a reply's pieces, a
            # notification then its files), while other chats' go in parallel
            task = asyncio.create_task(
                self._deliver(
                    row, locales.get(row.id) or self._default_locale, self._tails.get(chat)
                )
            )
            self._inflight[row.id] = task
            self._tails[chat] = task
            task.add_done_callback(partial(self._done, row.id, chat))
            task.add_done_callback(partial(self._came_back, send))
        if wait:
            await asyncio.gather(*self._inflight.values())
        return len(rows)

    def _came_back(self, send: Send, task: asyncio.Task[None]) -> None:
        self._limiter.done(send)

    def _done(self, row_id: int, chat: str, task: asyncio.Task[None]) -> None:
        self._inflight.pop(row_id, None)
        if self._tails.get(chat) is task:
            del self._tails[chat]
        self._slots.release()

    def _reply(self, payload: dict[str, Any], locale: str) -> Reply | None:
        if "reply" in payload:  # an answer to the user's own message, rendered when it was made
            return reply_from_json(payload["reply"])
        broadcast_id = payload.get("broadcast")
        if broadcast_id is not None:
            broadcast = self._broadcasts.get(broadcast_id)
            if broadcast is None or broadcast.status == "cancelled":
                return None
            choices = tuple(
                Choice(command, self._render(locale, text_from_json(label)))
                for command, label in broadcast.choices
            )
            expect = Expect.CHOICE if choices else Expect.NONE
            return Reply(broadcast.text, locale, choices, expect, GLOBAL_TOKEN)
        choices = tuple(
            Choice(choice_id, self._render(locale, text_from_json(label)))
            for choice_id, label in payload.get("choices") or ()
        )
        text = self._render(locale, text_from_json(payload["text"]))
        return Reply(text, locale, choices, Expect.CHOICE if choices else Expect.NONE, GLOBAL_TOKEN)

    async def _deliver(
        self, row: OutboxRow, locale: str, after: asyncio.Task[None] | None = None
    ) -> None:
        if after is not None:
            await asyncio.wait({after})
        try:
            await self._attempt(row, locale)
        except Exception as exc:  # not expected (settling is tried again): the row stays due
            log.warning("outbox: row %s not settled (%s)", row.id, type(exc).__name__)

    async def _attempt(self, row: OutboxRow, locale: str) -> None:
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
                via = await self._send(message, None, outgoing)
            else:
                reply = self._reply(message.payload, locale)
                if reply is None:  # its broadcast was cancelled meanwhile
                    await self._settle(row, error="cancelled", final=True)
                    return
                via = await self._send(message, reply, None)
        except Waiting as exc:
            await self._settle(row, postpone=exc.retry_after, error=str(exc))
        except RateLimited as exc:
            self._limiter.throttled(message.external_id, exc.retry_after)
            await self._settle(row, postpone=exc.retry_after, error=str(exc))
        except (Unreachable, Rejected) as exc:
            await self._settle(
                row, error=f"{type(exc).__name__}: {exc}", final=True,
                unreachable=isinstance(exc, Unreachable),
            )  # fmt: skip
        except Exception as exc:  # network, server, a page that is not JSON, a missing file
            final = row.attempts + 1 >= self._max_attempts
            await self._settle(
                row, postpone=2.0**row.attempts, error=type(exc).__name__, final=final
            )
        else:
            recorded = await self._record(row, partial(self._delivered, row, via))
            file = message.payload.get("file")
            # not recorded (stopped while the database was away): the row is sent once more
            # after the restart, so its file stays until then (the clean-up takes it later)
            uploads = getattr(self._deliverer, "uploads", False)
            if recorded and file is not None and file.get("once") and uploads:
                # a file made for this one delivery (``delivered_once``), its bytes handed over:
                # nothing needs it any more, and it may name the citizen (their /mydata)
                try:
                    await asyncio.to_thread(self._file_path(file["sha256"]).unlink, missing_ok=True)
                except OSError as exc:  # the clean-up removes it later
                    log.warning("outbox: delivered file not removed (%s)", type(exc).__name__)

    async def _send(
        self, message: OutboxMessage, reply: Reply | None, file: OutgoingFile | None
    ) -> str | None:
        """Deliver; a channel with two ways of sending (``SendsByKind``) is told the
        message's kind and says which way it took."""
        if isinstance(self._deliverer, SendsByKind):
            return await self._deliverer.deliver_as(message.external_id, reply, file, message.kind)
        await self._deliverer.deliver(message.external_id, reply, file)
        return None

    async def _delivered(self, row: OutboxRow, via: str | None, uow: UnitOfWork) -> None:
        if row.message.kind == "reply":
            await uow.outbox.delete([row.id])  # a delivered reply is not kept
        else:
            await uow.outbox.mark_sent(row.id, self._clock(), via)

    async def _record(
        self, row: OutboxRow, change: Callable[[UnitOfWork], Awaitable[None]]
    ) -> bool:
        """Settle ``row`` with ``change``, tried again with back-off until the database takes
        it. Meanwhile the row keeps its slot and stays in flight, so this process does not send
        it again (this was issue 18's "outbox: row N not settled": a delivered message whose
        marking failed, SQLite busy past its timeout or a PostgreSQL connection dropped, was
        left due and sent a second time within a second). Once the sender is stopped the tries
        go on for ``SETTLE_AFTER_STOP`` seconds at most; the row then stays due and is sent once
        more later, as after a crash. Whether it was recorded."""
        wait, failures, until = self.SETTLE_RETRY_FIRST, 0, None
        while True:
            try:
                async with self._store.transaction() as uow:
                    await change(uow)
            except Exception as exc:
                failures += 1
                reason = type(exc).__name__
            else:
                if failures:
                    log.info("outbox: row %s settled at try %s", row.id, failures + 1)
                return True
            if self._stop is not None and self._stop.is_set():
                now = time.monotonic()
                until = now + self.SETTLE_AFTER_STOP if until is None else until
                if now >= until:
                    log.warning("outbox: row %s not settled (%s); it stays due", row.id, reason)
                    return False
            if failures == 1 or failures % 10 == 0:
                log.warning(
                    "outbox: row %s not settled yet (%s, try %s); trying again",
                    row.id, reason, failures,
                )  # fmt: skip
            await asyncio.sleep(wait)
            wait = min(wait * 2, self.SETTLE_RETRY_MOST)

    async def _settle(
        self,
        row: OutboxRow,
        *,
        error: str,
        postpone: float = 0,
        final: bool = False,
        unreachable: bool = False,
    ) -> None:
        async def change(uow: UnitOfWork) -> None:
            if final:
                await uow.outbox.fail(row.id, error)
            else:
                await uow.outbox.postpone(
                    row.id, self._clock() + timedelta(seconds=postpone), error
                )
            if unreachable:
                await uow.identities.mark_unreachable(
                    row.message.channel, row.message.external_id, self._clock()
                )

        await self._record(row, change)
