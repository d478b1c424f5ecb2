"""Telegram: the channel, and the two client libraries it can run on; described in
``description.py``.

The package imports nothing itself: the configuration reads the channel's description at
start, before any client library is needed; the names below are imported when first used."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_HOMES = {
    "TelegramApi": "api",
    "TelegramChannel": "channel",
    "CHANNEL": "parse",
    "pack_callback": "parse",
    "parse_update": "parse",
    "unpack_callback": "parse",
}


def telegram_api(
    backend: str, token: str, api_url: str, connections: int | None = None
) -> TelegramApi:
    """The client library chosen by ``CDHT_TELEGRAM_BACKEND``; only that one is imported.
    ``connections``: the most Bot API calls at once (python-telegram-bot's pool size)."""
    if backend == "ptb":
        from bot.handlers.telegram.ptb_api import PtbApi

        if connections is None:
            return PtbApi(token, api_url)
        return PtbApi(token, api_url, connections=connections)
    from bot.handlers.telegram.aiogram_api import AiogramApi

    return AiogramApi(token, api_url)


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{home}"), name)
