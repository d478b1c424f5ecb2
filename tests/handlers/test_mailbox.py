"""The replies' acknowledgements: gathered for ``ACK_DELAY``, then deleted in one transaction;
those acknowledged while a deletion runs wait for the next delay instead of starting another
transaction at once (under load that ran one deletion after another: 1,477 transactions for
14,000 replies, profiled on PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

import bot.handlers.mailbox
from bot.handlers.mailbox import ACK_DELAY, Mailbox


class _Outbox:
    def __init__(self, log: list[Any], gate: asyncio.Event) -> None:
        self._log = log
        self._gate = gate

    async def delete(self, ids: list[int]) -> None:
        self._log.append(("delete", list(ids)))
        await self._gate.wait()


class _Store:
    """Only what the mailbox's acknowledgements use; a deletion waits for ``gate``."""

    shared = False

    def __init__(self, log: list[Any]) -> None:
        self.gate = asyncio.Event()
        self.uow = type("Uow", (), {"outbox": _Outbox(log, self.gate)})()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Any]:
        yield self.uow


async def test_acknowledgements_during_a_deletion_wait_for_the_next_delay(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    log: list[Any] = []
    real_sleep = asyncio.sleep

    async def pause(seconds: float) -> None:
        log.append(("pause", seconds))
        await real_sleep(0)

    monkeypatch.setattr(bot.handlers.mailbox, "_pause", pause)
    store = _Store(log)
    mailbox = Mailbox(store)  # type: ignore[arg-type]

    await mailbox.delivered([1])
    await mailbox.delivered([2])
    for _ in range(5):
        await real_sleep(0)
    assert log == [("pause", ACK_DELAY), ("delete", [1, 2])]  # one transaction for both

    await mailbox.delivered([3])  # while [1, 2] are being deleted
    await mailbox.delivered([4])
    for _ in range(5):
        await real_sleep(0)
    assert log == [("pause", ACK_DELAY), ("delete", [1, 2])]  # no second transaction yet

    store.gate.set()
    for _ in range(10):
        await real_sleep(0)
    assert log == [
        ("pause", ACK_DELAY),
        ("delete", [1, 2]),
        ("pause", ACK_DELAY),  # the next delay first
        ("delete", [3, 4]),
    ]

    await mailbox.delivered([5])
    await mailbox.flush()  # a channel stopping: everything left, at once
    assert log[-1] == ("delete", [5])
