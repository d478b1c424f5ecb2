"""Telegram: the channel, and the two client libraries it can run on."""

from bot.handlers.telegram.api import TelegramApi
from bot.handlers.telegram.channel import TelegramChannel
from bot.handlers.telegram.parse import CHANNEL, pack_callback, parse_update, unpack_callback

__all__ = [
    "CHANNEL",
    "TelegramApi",
    "TelegramChannel",
    "pack_callback",
    "parse_update",
    "telegram_api",
    "unpack_callback",
]


def telegram_api(backend: str, token: str, api_url: str) -> TelegramApi:
    """The client library chosen by ``CDHT_TELEGRAM_BACKEND``; only that one is imported."""
    if backend == "ptb":
        from bot.handlers.telegram.ptb_api import PtbApi

        return PtbApi(token, api_url)
    from bot.handlers.telegram.aiogram_api import AiogramApi

    return AiogramApi(token, api_url)
