from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from bot.config import Settings
from tests.bots import Running
from tests.bots import start_bot as start_running
from tests.fakes.telegram_api import FakeTelegram


@pytest.fixture
def settings(settings: Settings, telegram_backend: str) -> Settings:
    """Every Telegram test runs on the default client library, and on both where
    CDHT_TEST_TELEGRAM_BACKENDS says so (``telegram_backend``: tests/conftest.py)."""
    return settings.model_copy(update={"telegram_backend": telegram_backend})


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    server = await FakeTelegram().start()
    yield server
    await server.stop()


async def start_bot(settings: Settings, fake: FakeTelegram, **overrides: object) -> Running:
    return await start_running(settings, fake, None, **overrides)


@pytest.fixture
async def bot(settings: Settings, fake: FakeTelegram) -> AsyncIterator[Running]:
    running = await start_bot(settings, fake)
    yield running
    await running.shutdown()


Action = Callable[[], Awaitable[object]]
Converse = Callable[[int, Action, str], Awaitable[str]]


async def agree(fake: FakeTelegram, converse: Converse, user: int) -> None:
    """Say 16 or over, then press "Đồng ý" for the three purposes, up to the target group."""
    await converse(user, lambda: fake.press(user, "Đủ 16 tuổi trở lên"), "Đồng ý để đăng ký")
    await converse(user, lambda: fake.press(user, "Đồng ý"), "Đồng ý chia sẻ?")
    await converse(user, lambda: fake.press(user, "Đồng ý"), "số liệu thống kê")
    await converse(user, lambda: fake.press(user, "Đồng ý"), "Thuộc đối tượng nào")


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
