"""The reference of ``bench/e2e.py``: a bare python-telegram-bot echo bot, as its documentation
writes one, with the library's defaults (updates handled one after another: with
``concurrent_updates(True)`` it measured slower, 296 against 556 updates/s with 100 users and 151
against 226 with 1,000, httpx's connection pool then contended).

Long polling (``Application.run_polling``) from the Bot API server at ``BENCH_API_URL`` with
``BENCH_TOKEN``; every message answered with ``sendMessage`` of its text. Prints "serving" on
standard error when it starts polling.
"""

from __future__ import annotations

import os
import sys
from typing import Any

os.environ.setdefault("PTB_TIMEDELTA", "true")

from telegram import Update
from telegram.ext import Application, MessageHandler, filters


async def echo(update: Update, context: Any) -> None:
    message = update.effective_message
    if message is not None:
        await message.reply_text(message.text or "…")


async def ready(application: Any) -> None:
    print("serving (python-telegram-bot echo)", file=sys.stderr, flush=True)


def main() -> None:
    url = os.environ["BENCH_API_URL"]
    application = (
        Application.builder()
        .token(os.environ["BENCH_TOKEN"])
        .base_url(f"{url}/bot")
        .base_file_url(f"{url}/file/bot")
        .post_init(ready)
        .build()
    )
    application.add_handler(MessageHandler(filters.ALL, echo))
    application.run_polling(allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
