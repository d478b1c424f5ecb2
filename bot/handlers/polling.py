"""Long polling shared by the channels: fetch, hand each update on, back off on errors."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from bot.services.outbox import DeliveryError, RateLimited

__all__ = ["poll_until_stopped"]

log = logging.getLogger(__name__)

T = TypeVar("T")


async def poll_until_stopped(
    name: str,
    stop: asyncio.Event,
    fetch: Callable[[], Awaitable[Sequence[T]]],
    feed: Callable[[T], None],
) -> None:
    """Call ``fetch`` (one long poll, raising the neutral delivery errors) until ``stop``;
    a rate limit waits as told, other errors back off 1, 2, 4 … 30 s."""
    log.info("%s: long polling started", name)
    backoff = 1.0
    while not stop.is_set():
        poll = asyncio.ensure_future(fetch())
        stopped = asyncio.ensure_future(stop.wait())
        await asyncio.wait({poll, stopped}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if not poll.done():
            poll.cancel()
            break
        try:
            updates = poll.result()
        except RateLimited as exc:
            await asyncio.sleep(exc.retry_after)
            continue
        except DeliveryError as exc:
            log.warning("%s: polling failed (%s); retrying in %.0fs", name, exc, backoff)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 30.0)
            continue
        backoff = 1.0
        for update in updates:
            feed(update)
