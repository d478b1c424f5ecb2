"""An account flooding the bot through the real Telegram client: it gets one "please slow down"
and its excess is dropped unhandled, while another citizen is answered every time. Counted in
messages; the bound on what got through uses the test's own duration, not a speed goal."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from bot.config import Settings
from tests.fakes.telegram_api import FakeTelegram
from tests.handlers.telegram.conftest import start_bot

FLOODER, CALM = 666001, 666002
BURST, RATE = 10, 1.0
Converse = Callable[[int, Callable[[], Awaitable[object]], str], Awaitable[str]]


async def test_a_flooding_account_is_slowed_and_others_are_unaffected(
    settings: Settings, fake: FakeTelegram, converse: Converse
) -> None:
    running = await start_bot(settings, fake, flood_burst=BURST, flood_rate=RATE)
    started = time.monotonic()
    try:
        for n in range(300):
            await fake.push(fake.message_update(FLOODER, text=f"xin chào {n}"))
        await converse(CALM, lambda: fake.send_text(CALM, "/start"), "Công dân học tập")
        await converse(CALM, lambda: fake.press(CALM, "Đủ 16 tuổi trở lên"), "Đồng ý để")
        await converse(CALM, lambda: fake.press(CALM, "Đồng ý"), "Đồng ý chia sẻ?")
        await converse(CALM, lambda: fake.press(CALM, "Đồng ý"), "số liệu thống kê")
        await fake.wait_for(lambda: any("đến nhanh quá" in p["text"] for p in fake.sent(FLOODER)))
        await running.channel.drain()  # type: ignore[attr-defined]
    finally:
        await running.shutdown()
    elapsed = time.monotonic() - started
    to_flooder = [p["text"] for p in fake.sent(FLOODER)]
    notices = [text for text in to_flooder if "đến nhanh quá" in text]
    handled = len(to_flooder) - len(notices)  # one answer per message handled
    assert len(notices) == 1
    assert BURST <= handled <= BURST + RATE * elapsed + 1, (handled, elapsed)
    assert handled < 300 / 4  # most of the flood was dropped unhandled
    assert len(fake.sent(CALM)) == 4  # every message of the other citizen was answered
