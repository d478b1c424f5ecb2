"""Long polling shared by the channels: fetch, store, acknowledge; errors never end the loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from bot.services.outbox import RateLimited

__all__ = ["Backoff", "poll_until_stopped", "until_done"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class Backoff:
    """Waits 1, 2, 4 … ``cap`` seconds between failed tries; a streak of failures is logged
    once (its first error, without content), and its end once."""

    def __init__(self, name: str, cap: float = 30.0) -> None:
        self._name = name
        self._cap = cap
        self.failures = 0

    async def wait(self, exc: BaseException, stop: asyncio.Event, what: str) -> None:
        delay = min(2.0**self.failures, self._cap)
        if self.failures == 0:
            log.warning("%s: %s failed (%s); retrying with back-off", self._name, what,
                        type(exc).__name__)  # fmt: skip
        else:
            log.debug("%s: %s failed again (%s)", self._name, what, type(exc).__name__)
        self.failures += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)

    def succeeded(self) -> None:
        if self.failures:
            log.info("%s: working again after %d failed tries", self._name, self.failures)
        self.failures = 0


async def poll_until_stopped(
    name: str,
    stop: asyncio.Event,
    fetch: Callable[[], Awaitable[Sequence[T]]],
    take: Callable[[Sequence[T]], Awaitable[None]],
) -> None:
    """Until ``stop``: ``fetch`` one long poll, then ``take`` the batch (store it durably and
    queue it; only then may the channel acknowledge it). Any error (a network error, an HTML
    error page where JSON was expected, a database that cannot store) is retried with
    back-off; a batch that could not be stored is kept and stored again, never dropped; a
    rate limit waits as told."""
    log.info("%s: long polling started", name)
    backoff = Backoff(name)
    while not stop.is_set():
        poll = asyncio.ensure_future(fetch())
        stopped = asyncio.ensure_future(stop.wait())
        await asyncio.wait({poll, stopped}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if not poll.done():
            poll.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await poll
            break
        try:
            batch = poll.result()
        except RateLimited as exc:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), exc.retry_after)
            continue
        except Exception as exc:
            await backoff.wait(exc, stop, "getUpdates")
            continue
        while True:
            try:
                await take(batch)
            except Exception as exc:
                if stop.is_set():
                    return
                await backoff.wait(exc, stop, "storing updates")
                continue
            backoff.succeeded()
            break


async def until_done(
    name: str, stop: asyncio.Event, what: str, call: Callable[[], Awaitable[object]]
) -> None:
    """A call the channel cannot work without (setWebhook, reading the inbox at start): tried
    with back-off until it succeeds or the channel stops; it never ends the process."""
    backoff = Backoff(name)
    while not stop.is_set():
        try:
            await call()
        except Exception as exc:
            await backoff.wait(exc, stop, what)
            continue
        backoff.succeeded()
        return
