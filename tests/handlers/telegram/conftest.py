from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import pytest
from pydantic import SecretStr

from bot.__main__ import _serve
from bot.app import App
from bot.config import Settings
from bot.handlers import configured_channels
from bot.handlers.telegram import TelegramChannel
from tests.conftest import started_app
from tests.fakes.telegram_api import TOKEN, FakeTelegram


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    server = await FakeTelegram().start()
    yield server
    await server.stop()


@dataclass
class Running:
    app: App
    channel: TelegramChannel
    stop: asyncio.Event
    task: asyncio.Task[None]

    async def shutdown(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, 10)
        await self.app.close()


async def start_bot(settings: Settings, fake: FakeTelegram, **overrides: object) -> Running:
    """The app and its Telegram channel as `cdht run` wires them, pointed at the fake server."""
    configured = settings.model_copy(
        update={"telegram_token": SecretStr(TOKEN), "telegram_api_url": fake.url, **overrides}
    )
    app = await started_app(configured)
    (channel,) = configured_channels(app)
    assert isinstance(channel, TelegramChannel)
    stop = asyncio.Event()
    # the channel, its outbox sender and the scheduler, as `cdht run` serves them
    task = asyncio.create_task(_serve(app, [channel], stop))
    return Running(app, channel, stop, task)


@pytest.fixture
async def bot(settings: Settings, fake: FakeTelegram) -> AsyncIterator[Running]:
    running = await start_bot(settings, fake)
    yield running
    await running.shutdown()


Action = Callable[[], Awaitable[object]]


@pytest.fixture
def converse(fake: FakeTelegram) -> Callable[[int, Action, str], Awaitable[str]]:
    """Do something as a user, then wait for a bot message containing ``expected``."""

    async def run(user: int, action: Action, expected: str) -> str:
        before = len(fake.sent(user))
        await action()

        def arrived() -> bool:
            return any(expected in p["text"] for p in fake.sent(user)[before:])

        try:
            await fake.wait_for(arrived)
        except TimeoutError:
            texts = [p["text"][:200] for p in fake.sent(user)[before:]]
            raise AssertionError(f"no message with {expected!r}; got {texts}") from None
        return "\n".join(p["text"] for p in fake.sent(user)[before:])

    return run
