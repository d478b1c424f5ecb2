"""The Telegram channel as an unlucky operator meets it: nginx's HTML 502 pages where JSON was
expected, a failing setMyCommands, 502s on sendMessage, a database that stops answering,
blocked and unblocked accounts, photos Telegram refuses to take as photos."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
from pydantic import SecretStr

from bot.config import Settings
from bot.engine.ports import StorageUnavailable
from bot.handlers.telegram import TelegramChannel, telegram_api
from bot.services.outbox import OutgoingFile
from storage import SqlUnitOfWork
from tests.bots import Running
from tests.fakes.telegram_api import FakeTelegram
from tests.handlers.telegram.conftest import start_bot
from tests.handlers.telegram.test_telegram import free_port

USER = 555301
Converse = Callable[[int, Callable[[], Awaitable[object]], str], Awaitable[str]]


async def reply_rows(bot: Running) -> int:
    async with bot.app.store.engine.connect() as conn:
        result = await conn.exec_driver_sql("SELECT count(*) FROM outbox WHERE kind = 'reply'")
        return int(result.scalar_one())


async def test_html_502_pages_on_get_updates_do_not_stop_the_bot(
    settings: Settings, fake: FakeTelegram, converse: Converse
) -> None:
    fake.fail("getUpdates", times=2)  # nginx in front of the Bot API, backend down
    running = await start_bot(settings, fake)
    try:
        await converse(USER, lambda: fake.send_text(USER, "/start"), "Công dân học tập")
        assert len(fake.calls_of("getUpdates:failed")) == 2
        assert not running.task.done()
    finally:
        await running.shutdown()


async def test_a_failing_set_my_commands_does_not_stop_the_bot(
    settings: Settings, fake: FakeTelegram, converse: Converse
) -> None:
    fake.fail("setMyCommands", times=1, status=500, html=False)
    running = await start_bot(settings, fake)
    try:
        await converse(USER, lambda: fake.send_text(USER, "/start"), "Công dân học tập")
        await fake.wait_for(lambda: len(fake.calls_of("setMyCommands")) == 3)  # tried again
        assert not running.task.done()
    finally:
        await running.shutdown()


async def test_a_reply_refused_by_a_502_arrives_afterwards_and_in_order(
    bot: Running, fake: FakeTelegram, converse: Converse
) -> None:
    await converse(USER, lambda: fake.send_text(USER, "/start"), "Công dân học tập")
    await converse(USER, lambda: fake.press(USER, "Đủ 16 tuổi trở lên"), "Đồng ý để")
    fake.fail("sendMessage", times=1)  # the answer to the next press meets nginx's 502
    await converse(USER, lambda: fake.press(USER, "Đồng ý"), "chia sẻ")
    assert len(fake.calls_of("sendMessage:failed")) == 1
    await converse(USER, lambda: fake.press(USER, "Đồng ý"), "thống kê")
    texts = [params["text"] for params in fake.sent(USER)]
    assert texts.index(next(t for t in texts if "chia sẻ" in t)) < texts.index(
        next(t for t in texts if "thống kê" in t)
    )
    for _ in range(100):  # the sender deletes the reply just after Telegram took it
        if await reply_rows(bot) == 0:
            break
        await asyncio.sleep(0.05)
    assert await reply_rows(bot) == 0  # delivered replies are acknowledged and not kept


def break_store(bot: Running) -> asyncio.Event:
    """The database answers StorageUnavailable (locked, restarting) while the event is set."""
    store = bot.app.store
    real = type(store).transaction
    broken = asyncio.Event()
    broken.set()

    @asynccontextmanager
    async def flaky(self: Any) -> AsyncIterator[SqlUnitOfWork]:
        if broken.is_set():
            raise StorageUnavailable("OperationalError")  # "database is locked"
        async with real(self) as uow:
            yield uow

    store.transaction = flaky.__get__(store)  # type: ignore[method-assign]
    return broken


async def test_an_unavailable_database_holds_updates_unacknowledged_until_it_is_back(
    settings: Settings, fake: FakeTelegram, converse: Converse, database_url: str
) -> None:
    running = await start_bot(settings, fake, database_url=database_url)
    try:
        await held_back_then_answered(running, fake, converse)
    finally:
        await running.shutdown()


async def held_back_then_answered(bot: Running, fake: FakeTelegram, converse: Converse) -> None:
    await converse(USER, lambda: fake.send_text(USER, "/start"), "Công dân học tập")
    broken = break_store(bot)
    await fake.press(USER, "Đủ 16 tuổi trở lên")
    await fake.wait_for(lambda: len(fake.handed_out) >= 2)
    await asyncio.sleep(1.5)  # getUpdates keeps failing to store; nothing is acknowledged
    unconfirmed = [u["update_id"] for u in fake.updates]
    assert unconfirmed, "the update was acknowledged before it was stored"
    broken.clear()
    await fake.wait_for(lambda: any("Đồng ý để đăng ký" in p["text"] for p in fake.sent(USER)))
    assert sum("Đồng ý để đăng ký" in p["text"] for p in fake.sent(USER)) == 1


async def test_blocked_then_unblocked_accounts_are_reachable_again(
    bot: Running, fake: FakeTelegram, converse: Converse
) -> None:
    await converse(USER, lambda: fake.send_text(USER, "/start"), "Công dân học tập")

    async def unreachable() -> bool:
        async with bot.app.store.transaction() as uow:
            identity = await uow.identities.get("telegram", str(USER))
        assert identity is not None
        return identity.unreachable

    async def settled(value: bool) -> None:
        for _ in range(100):
            if await unreachable() is value:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"unreachable never became {value}")

    await fake.member_status(USER, "kicked")
    await settled(True)
    await fake.member_status(USER, "member")
    await settled(False)
    # a 403 on a delivery marks the account; writing to the bot again clears it
    async with bot.app.store.transaction() as uow:
        await uow.identities.mark_unreachable("telegram", str(USER), bot.app.engine._clock())
    await settled(True)
    await converse(USER, lambda: fake.send_text(USER, "/start"), "Tiếp tục từ chỗ")
    await settled(False)


async def test_photos_telegram_will_not_take_as_photos_go_as_documents(
    settings: Settings, fake: FakeTelegram, tmp_path: Path
) -> None:
    channel = TelegramChannel(
        None,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        api=telegram_api(settings.telegram_backend, fake.token, fake.url),
    )
    try:
        # a long screenshot: 100 × 2100 pixels, a ratio over 20
        header = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + (100).to_bytes(4, "big")
        tall = tmp_path / "tall"
        tall.write_bytes(header + (2100).to_bytes(4, "big") + b"\x08\x02\x00\x00\x00" * 10)
        big = tmp_path / "big"
        big.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * (10 * 1024 * 1024 + 1))  # over 10 MB
        for path, mime in ((tall, "image/png"), (big, "image/jpeg")):
            await channel.deliver(
                str(USER), None, OutgoingFile(path, "photo", mime, path.name, "Minh chứng")
            )
        assert len(fake.calls_of("sendPhoto")) == 1  # tried once for the tall one, refused
        assert len(fake.calls_of("sendDocument")) == 2  # both arrived, as documents
        assert fake.uploads[-1] == big.read_bytes()
    finally:
        await channel.api.close()


async def test_a_webhook_update_is_answered_503_until_it_can_be_stored(
    settings: Settings, fake: FakeTelegram, converse: Converse
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    running = await start_bot(
        settings, fake, telegram_webhook_url=url,
        telegram_webhook_secret=SecretStr("s3cr3t-value"), webhook_port=port,
    )  # fmt: skip
    try:
        broken = break_store(running)
        update = fake.message_update(USER, text="/start")
        update["update_id"] = 42
        headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cr3t-value"}
        async with aiohttp.ClientSession() as http:
            async with http.post(url, json=update, headers=headers) as response:
                assert response.status == 503  # not stored: Telegram will deliver it again
            broken.clear()

            async def redelivered() -> None:
                async with http.post(url, json=update, headers=headers) as response:
                    assert response.status == 200

            await converse(USER, redelivered, "Công dân học tập")
    finally:
        await running.shutdown()
