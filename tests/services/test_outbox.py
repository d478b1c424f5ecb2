"""The outbox sender when a channel answers with something unexpected, and a chat's order."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.app import App
from bot.engine import Reply, reply_to_json, t
from bot.engine.ports import OutboxMessage
from bot.services.outbox import OutgoingFile, text_message
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
