"""The outbox sender when a channel answers with something unexpected, a chat's order, the
database busy when a delivery is recorded, and a lease lost while sending."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.app import App
from bot.domain.usecases.notices import text_message
from bot.engine import Reply, reply_to_json, t
from bot.engine.ports import OutboxMessage, StorageUnavailable
from bot.services.outbox import OutgoingFile, RateLimited
from tests.verification_helpers import RecordingDeliverer, sender


class Undecodable(Exception):
    """What aiogram raises for an HTML page where JSON was expected (ClientDecodeError)."""


async def rows(app: App) -> list[tuple[str, int]]:
    async with app.store.engine.connect() as conn:
        found: Any = await conn.exec_driver_sql("SELECT status, attempts FROM outbox")
        return [(str(status), int(attempts)) for status, attempts in found]


async def test_an_unexpected_error_counts_as_an_attempt_and_backs_off(app: App) -> None:
    async with app.store.transaction() as uow:
        await uow.outbox.enqueue(text_message("test", "u1", t("note.revoked")), datetime.now(UTC))
    deliverer = RecordingDeliverer(failures=[Undecodable("<html>502")] * 6)  # type: ignore[list-item]
    outbox = sender(app, deliverer)
    assert await outbox.flush() == 1
    ((status, attempts),) = await rows(app)
    assert (status, attempts) == ("pending", 1)  # counted, not re-sent at once
    assert await outbox.flush() == 0  # backing off
    for _ in range(2, 7):
        async with app.store.transaction() as uow:
            (row,) = await uow.outbox.due("test", datetime.now(UTC) + timedelta(days=1), 10)
            await uow.outbox.reschedule([row.id], datetime.now(UTC))  # skip the wait
        assert await outbox.flush() == 1
    ((status, attempts),) = await rows(app)
    assert (status, attempts) == ("failed", 6)  # six tries, then it gives up
    assert deliverer.sent == []


async def test_a_chats_messages_go_in_order_while_other_chats_go_in_parallel(app: App) -> None:
    order: list[str] = []

    class Slow(RecordingDeliverer):
        async def deliver(
            self, external_id: str, reply: Reply | None, file: OutgoingFile | None
        ) -> None:
            assert reply is not None
            await asyncio.sleep(0.05 if reply.text.endswith("1") else 0)  # the first is slow
            order.append(reply.text)

    async with app.store.transaction() as uow:
        for number in (1, 2, 3):
            for chat in ("a", "b"):
                payload = {"reply": reply_to_json(Reply(f"{chat}{number}", "vi"))}
                message = OutboxMessage("test", chat, payload)
                await uow.outbox.enqueue(message, datetime.now(UTC))
    assert await sender(app, Slow()).flush() == 6
    assert [text for text in order if text.startswith("a")] == ["a1", "a2", "a3"]
    assert [text for text in order if text.startswith("b")] == ["b1", "b2", "b3"]


class Recorder(RecordingDeliverer):
    """A channel that accepts every message; ``then`` runs after each delivery."""

    def __init__(self, then: Callable[[], None]) -> None:
        super().__init__()
        self.then = then

    async def deliver(
        self, external_id: str, reply: Reply | None, file: OutgoingFile | None
    ) -> None:
        await super().deliver(external_id, reply, file)
        self.then()


def busy_after_each_delivery(
    app: App, monkeypatch: pytest.MonkeyPatch, times: int
) -> Callable[[], None]:
    """The database answers "busy" (SQLite locked past its timeout, a PostgreSQL connection
    dropped) to the next ``times`` transactions after each delivery: when the sender records
    what it delivered. The function to call after each delivery."""
    real = app.store.transaction
    failing = 0

    @asynccontextmanager
    async def transaction() -> AsyncIterator[Any]:
        nonlocal failing
        if failing:
            failing -= 1
            raise StorageUnavailable("OperationalError")
        async with real() as uow:
            yield uow

    def delivered() -> None:
        nonlocal failing
        failing = times

    monkeypatch.setattr(app.store, "transaction", transaction)
    return delivered


@pytest.mark.parametrize("failures", [1, 2])
async def test_a_delivered_message_is_not_sent_again_when_recording_it_fails(
    app: App, monkeypatch: pytest.MonkeyPatch, failures: int
) -> None:
    async with app.store.transaction() as uow:
        await uow.outbox.enqueue(text_message("test", "u1", t("note.revoked")), datetime.now(UTC))
    deliverer = Recorder(busy_after_each_delivery(app, monkeypatch, failures))
    outbox = sender(app, deliverer)
    assert await outbox.flush() == 1
    assert await outbox.flush() == 0  # nothing due: it was recorded as sent in the end
    assert [d.external_id for d in deliverer.sent] == ["u1"]  # delivered once
    assert await rows(app) == [("sent", 1)]


async def test_a_429_whose_postponing_fails_still_waits_before_the_next_try(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with app.store.transaction() as uow:
        await uow.outbox.enqueue(text_message("test", "u1", t("note.revoked")), datetime.now(UTC))
    refused: list[str] = []
    fail_next = busy_after_each_delivery(app, monkeypatch, 1)

    class Refusing(RecordingDeliverer):
        async def deliver(
            self, external_id: str, reply: Reply | None, file: OutgoingFile | None
        ) -> None:
            refused.append(external_id)
            fail_next()
            raise RateLimited(5)

    outbox = sender(app, Refusing())
    assert await outbox.flush() == 1
    assert await outbox.flush() == 0  # postponed by its retry_after, not due again at once
    assert refused == ["u1"]
    assert await rows(app) == [("pending", 1)]


async def test_a_stopped_sender_leaves_a_row_it_cannot_record_due(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database stays away and the process is asked to stop: the sender does not wait
    for ever; the delivered row stays due and is sent once more later, as after a crash."""
    async with app.store.transaction() as uow:
        await uow.outbox.enqueue(text_message("test", "u1", t("note.revoked")), datetime.now(UTC))
    delivered = asyncio.Event()
    fail = busy_after_each_delivery(app, monkeypatch, 10**9)

    def then() -> None:
        fail()
        delivered.set()

    outbox = sender(app, Recorder(then))
    outbox.SETTLE_AFTER_STOP = 0.2
    stop = asyncio.Event()
    running = asyncio.create_task(outbox.run(stop))
    await asyncio.wait_for(delivered.wait(), 10)
    stop.set()
    await asyncio.wait_for(running, 30)  # a safety net: it ends on its own
    monkeypatch.undo()
    assert await rows(app) == [("pending", 0)]


class Lease:
    """A lease that is held for ``messages`` checks, then lost (its connection cut)."""

    def __init__(self, messages: int) -> None:
        self.left = messages

    async def alive(self) -> bool:
        self.left -= 1
        return self.left >= 0

    async def release(self) -> None:
        return None


async def test_a_sender_that_loses_its_lease_stops_before_the_next_message(app: App) -> None:
    async with app.store.transaction() as uow:
        for n in range(10):
            message = text_message("test", f"u{n}", t("note.revoked"), kind="broadcast")
            await uow.outbox.enqueue(message, datetime.now(UTC))
    deliverer = RecordingDeliverer()
    outbox = sender(app, deliverer)
    stop = asyncio.Event()  # never set: losing the lease is enough
    await asyncio.wait_for(outbox.run(stop, Lease(3)), 30)
    assert [d.external_id for d in deliverer.sent] == ["u0", "u1", "u2"]
    assert sorted(await rows(app)) == [("pending", 0)] * 7 + [("sent", 1)] * 3


async def test_a_message_committed_while_the_sender_looks_is_sent_without_waiting(
    app: App,
) -> None:
    """A commit rings the sender while it is reading the due rows (too early for it to read
    the new one): the ring is kept, and the sender looks again at once instead of sleeping
    for its idle time (an hour here). Before, the ring was cleared after the look and lost."""
    deliverer = RecordingDeliverer()
    outbox = app.outbox_sender(deliverer)
    outbox._idle = 3600
    looks = 0
    original = outbox.flush

    async def flush(wait: bool = True) -> int:
        nonlocal looks
        looks += 1
        found = await original(wait)
        if looks == 1:  # a commit lands just after the first look read nothing
            async with app.store.transaction() as uow:
                message = text_message("test", "u1", t("note.revoked"))
                await uow.outbox.add(message, datetime.now(UTC))
        return found

    outbox.flush = flush  # type: ignore[method-assign]
    stop = asyncio.Event()
    task = asyncio.create_task(outbox.run(stop))
    for _ in range(200):
        if deliverer.sent:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await task
    assert looks >= 2
    assert [delivered.external_id for delivered in deliverer.sent] == ["u1"]
