"""Per-user ordering: jobs of one key run one at a time in submission order; keys in parallel."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable

__all__ = ["KeyedSerializer"]

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None]]


class KeyedSerializer:
    def __init__(self, max_concurrency: int = 16) -> None:
        self._queues: dict[str, deque[Job]] = {}
        self._slots = asyncio.Semaphore(max_concurrency)
        self._tasks: set[asyncio.Task[None]] = set()

    def submit(self, key: str, job: Job) -> None:
        """Queue ``job`` behind the earlier jobs of ``key``; never awaits, so order is kept."""
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = deque()
            task = asyncio.create_task(self._drain(key, queue))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        queue.append(job)

    async def _drain(self, key: str, queue: deque[Job]) -> None:
        try:
            while queue:
                job = queue.popleft()
                async with self._slots:
                    try:
                        await job()
                    except Exception as exc:  # one failed job must not stop the user's queue
                        log.error("job failed: %s", type(exc).__name__)
        finally:
            del self._queues[key]

    @property
    def pending(self) -> int:
        return sum(len(queue) for queue in self._queues.values()) + len(self._tasks)

    async def join(self) -> None:
        """Wait until every submitted job has run."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks))
