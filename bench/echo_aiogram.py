"""The reference of ``bench/e2e.py``: a bare aiogram echo bot, as its documentation writes one.

Long polling (``Dispatcher.start_polling``: each update handled in a task of its own) from the
Bot API server at ``BENCH_API_URL`` with ``BENCH_TOKEN``; every message answered with
``sendMessage`` of its text. Prints "serving" on standard error when it starts polling.
"""

from __future__ import annotations

import asyncio
import os
import sys

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message


async def main() -> None:
    session = AiohttpSession(api=TelegramAPIServer.from_base(os.environ["BENCH_API_URL"]))
    bot = Bot(os.environ["BENCH_TOKEN"], session=session)
    dispatcher = Dispatcher()

    @dispatcher.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "…")

    @dispatcher.startup()
    async def ready() -> None:
        print("serving (aiogram echo)", file=sys.stderr, flush=True)

    await dispatcher.start_polling(bot)


if __name__ == "__main__":
    asyncio.run(main())
