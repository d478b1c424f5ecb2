"""The leader's jobs (outbox senders, scheduler, housekeeping) under the "leader" lease: the
first of them to find the lease lost stops them all at once, without waiting for the leader's
own periodic check; the lease is given back and the process asks again after stepping back.
No database: the store and its leases are stand-ins (``tests/test_cluster_fence.py`` does it
for real on PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from types import SimpleNamespace
from typing import Any

import pytest

import bot.cli.supervision as cli
from bot.engine.ports import Lease


class Flaky:
    """A lease held for ``checks`` checks, then lost."""

    def __init__(self, name: str, checks: int, events: list[str]) -> None:
        self.name = name
        self.checks = checks
        self.events = events

    async def alive(self) -> bool:
        self.checks -= 1
        return self.checks >= 0

    async def release(self) -> None:
        self.events.append(f"{self.name} released")


async def test_the_first_job_to_find_the_lease_lost_stops_every_job(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cli, "LEASE_CHECK_SECONDS", 3600.0)  # the leader's own check never runs
    monkeypatch.setattr(cli, "STEP_BACK_SECONDS", 0.0)
    events: list[str] = []
    leases = [Flaky("first", 2, events), Flaky("second", 10**6, events)]

    async def try_lease(name: str) -> Flaky | None:
        assert name == "leader"
        return leases.pop(0) if leases else None

    app: Any = SimpleNamespace(store=SimpleNamespace(shared=True, try_lease=try_lease))
    stop = asyncio.Event()

    def jobs(inner: asyncio.Event, lease: Lease) -> list[Awaitable[None]]:
        if events:  # the second term, after stepping back: the test ends here

            async def end() -> None:
                events.append("led again")
                stop.set()

            return [end()]

        async def sender() -> None:  # asks before each message, as the outbox sender does
            sent = 0
            while await lease.alive():
                sent += 1
                await asyncio.sleep(0)
            events.append(f"sender stopped after {sent}")

        async def scheduler() -> None:
            await inner.wait()
            events.append("scheduler stopped")

        return [sender(), scheduler()]

    await asyncio.wait_for(cli.while_leading(app, stop, jobs), 30)  # a safety net
    assert events == [
        "sender stopped after 2",  # the lease held for two messages, lost before the third
        "scheduler stopped",  # stopped by the sender's finding, not by a periodic check
        "first released",
        "led again",
        "second released",
    ]
